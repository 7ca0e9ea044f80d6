"""Workspace resource strings (spec §6, [wire]): ``[<project_id>:]<type>[/<resource_id>]``."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated

from pydantic import WithJsonSchema

from zenpro.authz.vocabulary import GLOBAL_TYPES, PROJECT_TYPES, WORKSPACE_ACTIONS

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_PATTERN = re.compile(rf"^(?:(?P<project>{_UUID}):)?(?P<type>[a-z_]+)(?:/(?P<id>{_UUID}))?$")


# The same rule, as the regular expressions the OpenAPI document publishes (parse() stays
# the check, with messages naming what is wrong): a project-scoped type needs the
# `<project_id>:` prefix, a global type must not have it, and an id is optional.
_GLOBAL_ALT = "|".join(sorted(GLOBAL_TYPES))
_PROJECT_ALT = "|".join(sorted(PROJECT_TYPES))
_TYPES = rf"(?:{_UUID}:(?:{_PROJECT_ALT})|(?:{_GLOBAL_ALT}))"
RESOURCE_PATTERN = rf"^{_TYPES}(?:/{_UUID})?$"
TYPE_ONLY_PATTERN = rf"^{_TYPES}$"
WITH_ID_PATTERN = rf"^{_TYPES}/{_UUID}$"
RESOURCE_MAX_LENGTH = 36 + 1 + max(map(len, GLOBAL_TYPES | PROJECT_TYPES)) + 1 + 36
RESOURCE_RULE = (
    "A resource string `[<project_id>:]<type>[/<resource_id>]`: a project-scoped type "
    f"({', '.join(sorted(PROJECT_TYPES))}) with its project's id, or a global type "
    f"({', '.join(sorted(GLOBAL_TYPES))}) without; then optionally `/` and a resource id."
)


def resource_schema(pattern: str = RESOURCE_PATTERN) -> WithJsonSchema:
    """The published schema of a resource string (validation stays parse()'s)."""
    return WithJsonSchema(
        {
            "type": "string",
            "maxLength": RESOURCE_MAX_LENGTH,
            "pattern": pattern,
            "description": RESOURCE_RULE,
        }
    )


ResourceString = Annotated[str, resource_schema()]
TypeOnlyResource = Annotated[str, resource_schema(TYPE_ONLY_PATTERN)]
SharedResource = Annotated[str, resource_schema(WITH_ID_PATTERN)]
# An action of the workspace vocabulary, published as an enum (check_action() checks).
Action = Annotated[str, WithJsonSchema({"type": "string", "enum": list(WORKSPACE_ACTIONS)})]


class BadResource(ValueError):
    """A resource string that does not parse; the message names it."""


@dataclass(frozen=True, slots=True)
class Resource:
    type: str
    id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None


def parse(value: str, *, allow_id: bool = True) -> Resource:
    """Parse strictly: known type, project prefix exactly when the type is project-scoped.

    Workspace servers ask about the same resources again and again (every page of a list,
    every refresh), and a parse is a pure function of the string: results are kept in a
    bounded LRU (errors are not kept; they raise again)."""
    return _parse(value, allow_id)


@lru_cache(maxsize=8192)
def _parse(value: str, allow_id: bool) -> Resource:
    match = _PATTERN.fullmatch(value)
    if match is None:
        raise BadResource(f"malformed resource {value!r}: expected [project_id:]type[/id]")
    rtype = match["type"]
    project = match["project"]
    if rtype not in GLOBAL_TYPES and rtype not in PROJECT_TYPES:
        raise BadResource(f"unknown resource type {rtype!r} in {value!r}")
    if rtype in PROJECT_TYPES and project is None:
        raise BadResource(f"resource {value!r}: type {rtype!r} needs a project_id: prefix")
    if rtype in GLOBAL_TYPES and project is not None:
        raise BadResource(f"resource {value!r}: type {rtype!r} is global, no project prefix")
    if match["id"] is not None and not allow_id:
        raise BadResource(f"resource {value!r}: give a type only, without an id")
    return Resource(
        type=rtype,
        id=uuid.UUID(match["id"]) if match["id"] else None,
        project_id=uuid.UUID(project) if project else None,
    )


def check_action(action: str) -> str:
    if action not in WORKSPACE_ACTIONS:
        raise BadResource(
            f"unknown action {action!r}; expected one of {', '.join(WORKSPACE_ACTIONS)}"
        )
    return action
