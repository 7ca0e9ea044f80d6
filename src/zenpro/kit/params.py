"""Path parameters that name an object by id (or name) as text, not as a typed UUID.

They are looked up, not parsed: a value that names nothing is a 404 (never a 422 about the
form of an id), as the ZenML clients expect. The schema states what can name something
(no NUL, at most the length of the longest id or name, so a request target always fits the
32 KiB limit); a value outside it names nothing and is a 404 like any unknown name, so the
bounds are published, not enforced before the lookup (the guard that declares the
parameter answers first).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query

from zenpro.kit.schemas import NAME_MAX, TEXT_PATTERN


def ref(description: str, max_length: int = NAME_MAX) -> Any:
    """A path parameter that is an id or a name of at most ``max_length`` characters."""
    bounds = {"minLength": 1, "maxLength": max_length, "pattern": TEXT_PATTERN}
    return Path(description=description, json_schema_extra=bounds)


OrganizationRef = Annotated[str, ref("The organization's id or name.")]
WorkspaceRef = Annotated[str, ref("The workspace's id or name.")]
TeamRef = Annotated[str, ref("The team's id.")]
ServiceAccountRef = Annotated[str, ref("The service account's id or username.", 255)]


def text_query(description: str, max_length: int = NAME_MAX) -> Any:
    """A free-text query parameter (no NUL) of at most ``max_length`` characters."""
    return Query(max_length=max_length, pattern=TEXT_PATTERN, description=description)


def name_query(description: str = "Name, compared ignoring case (not trimmed).") -> Any:
    """A query parameter that filters by a display name (at most ``NAME_MAX`` characters)."""
    return text_query(description)


NameQuery = Annotated[str | None, name_query()]
