from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from zenpro.authz.resources import (
    RESOURCE_MAX_LENGTH,
    RESOURCE_PATTERN,
    Action,
    SharedResource,
)
from zenpro.authz.vocabulary import CONTROL_TYPES
from zenpro.kit.schemas import InputModel


def _one_subject_schema(schema: dict[str, Any]) -> None:
    """Exactly one of ``user_id`` and ``team_id`` (null counts as not given)."""
    given = {"type": "string", "format": "uuid"}
    schema["oneOf"] = [
        {"required": [one], "properties": {one: given, other: {"type": "null"}}}
        for one, other in (("user_id", "team_id"), ("team_id", "user_id"))
    ]


# `GET /permissions` takes workspace resource strings (with `workspace_id`) or control-plane
# types (with `organization_id`): the published schema admits either; which one depends
# on those parameters, which the operation's description says (OpenAPI cannot).
PermissionResource = Annotated[
    str,
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "maxLength": RESOURCE_MAX_LENGTH, "pattern": RESOURCE_PATTERN},
                {"type": "string", "enum": list(CONTROL_TYPES)},
            ]
        }
    ),
]


class AllowedIds(BaseModel):
    """[wire] Both keys are required by the ZenML server."""

    full_access: bool = Field(description="True: every resource of the type is allowed.")
    ids: list[uuid.UUID] = Field(description="Otherwise, the ids shared with the user.")


class ResourceMembers(InputModel):
    """[wire] A share: the complete set of actions the member ends up with."""

    model_config = ConfigDict(json_schema_extra=_one_subject_schema)

    user_id: uuid.UUID | None = Field(None, description="Share with this user …")
    team_id: uuid.UUID | None = Field(None, description="… or with this team.")
    sharing_user_id: uuid.UUID | None = Field(None, description="Who shares (audit only).")
    resource: SharedResource = Field(max_length=200, description="A resource string with an id.")
    actions: list[Action] = Field(max_length=16, description="Empty list = unshare.")

    @model_validator(mode="after")
    def _one_subject(self) -> ResourceMembers:
        if (self.user_id is None) == (self.team_id is None):
            raise ValueError("give exactly one of user_id and team_id")
        return self


class PermissionAnswer(BaseModel):
    resource: str = Field(description="The resource asked about.")
    action: str | None = Field(None, description="The action asked about, when one was.")
    allowed: bool | None = Field(None, description="The answer for `action`.")
    actions: list[str] | None = Field(None, description="Without `action`: every allowed one.")
