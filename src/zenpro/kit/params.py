"""Path parameters that name an object by id (or name) as text, not as a typed UUID.

They are looked up, not parsed: a value that names nothing is a 404 (never a 422 about the
form of an id), as the ZenML clients expect. Each is bounded text, so that what the schema
admits is what the server reads: no NUL, and at most the length of the longest id or name
(a request target always fits the 32 KiB limit).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from zenpro.kit.schemas import NAME_MAX, TEXT_PATTERN


def ref(description: str, max_length: int = NAME_MAX) -> Any:
    """A path parameter that is an id or a name of at most ``max_length`` characters."""
    return Path(min_length=1, max_length=max_length, pattern=TEXT_PATTERN, description=description)


OrganizationRef = Annotated[str, ref("The organization's id or name.")]
WorkspaceRef = Annotated[str, ref("The workspace's id or name.")]
TeamRef = Annotated[str, ref("The team's id.")]
ServiceAccountRef = Annotated[str, ref("The service account's id or username.", 255)]
