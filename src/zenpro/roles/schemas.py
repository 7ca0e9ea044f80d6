from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from zenpro.authz.vocabulary import LEVEL_ACTIONS, LEVEL_TYPES, Level
from zenpro.kit.schemas import Description, InputModel, Name, ReadModel
from zenpro.users.schemas import UserRead


class PermissionSet(InputModel):
    resource_type: str = Field(description="A resource type valid at the role's level.")
    actions: list[str] = Field(min_length=1, max_length=16, description="Actions on that type.")


class RoleRead(ReadModel):
    id: uuid.UUID = Field(description="Role id (system roles have stable ids).")
    name: str = Field(
        description="Display name (e.g. `Organization Admin`), unique ignoring case among the "
        "system roles and the organization's custom roles."
    )
    description: str | None = Field(description="What the role is for.")
    organization_id: uuid.UUID | None = Field(description="Owner organization; null = system.")
    level: Level = Field(description="organization, workspace or project.")
    system_managed: bool = Field(description="System roles are read-only.")
    type: Literal["normal"] = Field("normal", description="Always `normal`.")
    permissions: list[PermissionSet] = Field(description="The (resource_type, actions) pairs.")
    created: datetime
    updated: datetime


def _validate_permissions(level: Level, permissions: list[PermissionSet]) -> None:
    types, actions = LEVEL_TYPES[level], LEVEL_ACTIONS[level]
    for perm in permissions:
        if perm.resource_type not in types:
            raise ValueError(
                f"resource_type {perm.resource_type!r} is not valid for a {level.value}-level "
                f"role; valid: {', '.join(sorted(types))}"
            )
        for action in perm.actions:
            if action not in actions:
                raise ValueError(
                    f"action {action!r} is not valid for a {level.value}-level role; "
                    f"valid: {', '.join(actions)}"
                )


class RoleCreate(InputModel):
    organization_id: uuid.UUID = Field(description="The organization the role belongs to.")
    name: Name
    description: Description | None = None
    level: Level = Field(description="organization, workspace or project.")
    permissions: list[PermissionSet] = Field(max_length=64, description="Explicit pairs.")

    @model_validator(mode="after")
    def _check(self) -> RoleCreate:
        _validate_permissions(self.level, self.permissions)
        return self


class RoleUpdate(InputModel):
    name: Name | None = None
    description: Description | None = None
    permissions: list[PermissionSet] | None = Field(
        None, max_length=64, description="Replaces every pair; validated against the level."
    )


class TeamBrief(ReadModel):
    id: uuid.UUID = Field(description="Team id.")
    name: str = Field(description="Team name.")
    organization_id: uuid.UUID = Field(description="The team's organization.")


class AssignmentRead(ReadModel):
    id: uuid.UUID
    role: RoleRead
    user: UserRead | None = Field(description="The user holding it, if a user.")
    team: TeamBrief | None = Field(description="The team holding it, if a team.")
    invitation: uuid.UUID | None = Field(description="The invitation carrying it, if any.")
    organization_id: uuid.UUID
    workspace_id: uuid.UUID | None
    project_id: uuid.UUID | None
    created: datetime
