from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import ConfigDict, Field, model_validator

from zenpro.authz.vocabulary import LEVEL_ACTIONS, LEVEL_TYPES, Level
from zenpro.kit.schemas import Description, InputModel, Name, ReadModel
from zenpro.users.schemas import UserRead


class PermissionSet(InputModel):
    resource_type: str = Field(description="A resource type valid at the role's level.")
    actions: list[str] = Field(min_length=1, max_length=16, description="Actions on that type.")


def _publish_vocabulary(schema: dict[str, Any], cls: type[Any]) -> None:
    """The level's types and actions, as enums in the published schema (the validator
    below is the same rule, with a message naming the bad value)."""
    level: Level = cls.LEVEL
    schema["properties"]["resource_type"]["enum"] = sorted(LEVEL_TYPES[level])
    schema["properties"]["actions"]["items"]["enum"] = list(LEVEL_ACTIONS[level])


class _LevelPermission(PermissionSet):
    """A permission pair set of one role level."""

    LEVEL: ClassVar[Level]
    model_config = ConfigDict(json_schema_extra=_publish_vocabulary)

    @model_validator(mode="after")
    def _of_the_level(self) -> _LevelPermission:
        problem = misfit(self.LEVEL, [self])
        if problem:
            raise ValueError(problem)
        return self


class OrganizationPermission(_LevelPermission):
    """Control-plane types and actions (organization-level roles)."""

    LEVEL = Level.organization


class WorkspacePermission(_LevelPermission):
    """Workspace resource types and actions (workspace-level roles)."""

    LEVEL = Level.workspace


class ProjectPermission(_LevelPermission):
    """Project resource types and actions (project-level roles)."""

    LEVEL = Level.project


def misfit(level: Level, permissions: Sequence[PermissionSet]) -> str | None:
    """Why ``permissions`` do not fit a role of ``level`` (None when they do)."""
    types, actions = LEVEL_TYPES[level], LEVEL_ACTIONS[level]
    for perm in permissions:
        if perm.resource_type not in types:
            return (
                f"resource_type {perm.resource_type!r} is not valid for a {level.value}-level "
                f"role; valid: {', '.join(sorted(types))}"
            )
        for action in perm.actions:
            if action not in actions:
                return (
                    f"action {action!r} is not valid for a {level.value}-level role; "
                    f"valid: {', '.join(actions)}"
                )
    return None


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


P = TypeVar("P", bound=PermissionSet)
Pairs = Annotated[list[P], Field(max_length=64)]


class _RoleCreate(InputModel):
    organization_id: uuid.UUID = Field(description="The organization the role belongs to.")
    name: Name
    description: Description | None = None


class OrganizationRoleCreate(_RoleCreate):
    """An organization-level role: control-plane permissions."""

    level: Literal[Level.organization] = Field(description="`organization`.")
    permissions: list[OrganizationPermission] = Field(max_length=64, description="The pairs.")


class WorkspaceRoleCreate(_RoleCreate):
    """A workspace-level role: permissions on a workspace's resources."""

    level: Literal[Level.workspace] = Field(description="`workspace`.")
    permissions: list[WorkspacePermission] = Field(max_length=64, description="The pairs.")


class ProjectRoleCreate(_RoleCreate):
    """A project-level role: permissions on a project's resources."""

    level: Literal[Level.project] = Field(description="`project`.")
    permissions: list[ProjectPermission] = Field(max_length=64, description="The pairs.")


# One schema per level, told apart by `level`: the published types and actions are exactly
# those the level takes.
RoleCreate = Annotated[
    OrganizationRoleCreate | WorkspaceRoleCreate | ProjectRoleCreate,
    Field(discriminator="level"),
]


class RoleUpdate(InputModel):
    name: Name | None = None
    description: Description | None = None
    permissions: (
        Pairs[OrganizationPermission] | Pairs[WorkspacePermission] | Pairs[ProjectPermission] | None
    ) = Field(
        None,
        description="Replaces every pair: the pairs of one level, which must be the role's "
        "own (else 409).",
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
