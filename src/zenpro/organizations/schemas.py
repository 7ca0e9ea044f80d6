"""Organization and membership schemas (spec §3)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from zenpro.kit.schemas import Description, DisplayName, InputModel, Name, ReadModel, Url
from zenpro.models.role_alias import alias_id
from zenpro.users.schemas import UserRead

if TYPE_CHECKING:
    from zenpro.models import Role, User


class OrganizationRead(ReadModel):
    """An organization with its owner."""

    id: uuid.UUID = Field(description="Organization id.")
    name: str = Field(
        description="Display name (e.g. `Production`), unique among organizations ignoring case."
    )
    display_name: str | None = Field(description="Free-text name.")
    description: str | None = Field(description="Description.")
    logo_url: str | None = Field(description="Logo image URL.")
    owner: UserRead = Field(description="The owner (holds Organization Admin).")
    created: datetime = Field(description="Creation time (UTC).")
    updated: datetime = Field(description="Last update (UTC).")
    has_active_subscription: bool | None = Field(None, description="Always null: no billing.")
    trial_expiry: int | None = Field(None, description="Always null: no trials.")


class OrganizationCreate(InputModel):
    name: Name
    display_name: DisplayName | None = Field(None, description="Free-text name.")
    description: Description | None = Field(None, description="Description.")
    logo_url: Url | None = Field(None, description="Logo image URL.")


class OrganizationUpdate(InputModel):
    name: Name | None = None
    display_name: DisplayName | None = Field(None, description="Free-text name.")
    description: Description | None = Field(None, description="Description.")
    logo_url: Url | None = Field(None, description="Logo image URL.")


class RoleRef(ReadModel):
    """The role part of an assignment, as members lists show it."""

    id: uuid.UUID = Field(
        description="Role id; a system role shows the organization's own instance id, as in "
        "`GET /organizations/{id}/roles`."
    )
    name: str = Field(description="Role name.")
    level: str = Field(description="organization, workspace or project.")

    @classmethod
    def of(cls, role: Role, org_id: uuid.UUID) -> RoleRef:
        """The role as shown in organization ``org_id``."""
        rid = alias_id(org_id, role.id) if role.organization_id is None else role.id
        return cls(id=rid, name=role.name, level=role.level)


class MemberType(StrEnum):
    user = "user"
    service_account = "service_account"
    team = "team"
    invitation = "invitation"


class MemberRead(BaseModel):
    """One member of an organization or workspace.

    ``type`` says which of ``user`` (users and service accounts), ``team`` or
    ``invitation`` is set; ``roles`` are the roles held at the listed scope (organization
    roles for organization members, workspace roles for workspace members).
    """

    type: MemberType = Field(description="user, service_account, team or invitation.")
    id: uuid.UUID = Field(description="The user, team or invitation id.")
    name: str = Field(description="Username, team name, or the invited email.")
    email: str | None = Field(None, description="Email (users and invitations).")
    user: UserRead | None = Field(None, description="The user (users, service accounts).")
    expires: datetime | None = Field(None, description="Invitations: when it expires.")
    roles: list[RoleRef] = Field(default_factory=list, description="Roles held at this scope.")

    @classmethod
    def of_user(cls, user: User, roles: list[RoleRef]) -> MemberRead:
        """A user or service account as a member, with the roles it holds at the scope."""
        return cls(
            type=MemberType.service_account if user.is_service_account else MemberType.user,
            id=user.id,
            name=user.username,
            email=user.email,
            user=UserRead.model_validate(user),
            roles=roles,
        )
