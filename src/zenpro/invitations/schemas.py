from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from zenpro.kit.schemas import Email, InputModel
from zenpro.organizations.schemas import RoleRef
from zenpro.users.schemas import UserRead


class InvitationCreate(InputModel):
    email: Email = Field(description="Who is invited; they accept when logged in as it.")
    role_id: uuid.UUID | None = Field(
        None,
        description="An organization-level role (system, or of this organization) the "
        "invitee gets; default Organization Member.",
    )


class InvitationRole(BaseModel):
    id: uuid.UUID = Field(description="Role assignment id.")
    role: RoleRef = Field(description="The role.")
    workspace_id: uuid.UUID | None = Field(None, description="Workspace scope, if any.")
    project_id: uuid.UUID | None = Field(None, description="Project scope, if any.")


class TeamRef(BaseModel):
    id: uuid.UUID = Field(description="Team id.")
    name: str = Field(description="Team name.")


class InvitationRead(BaseModel):
    id: uuid.UUID | None = Field(
        description="Invitation id; null in lists for callers who may not manage invitations "
        "(`member:create`), since the id is what accepting takes."
    )
    email: str = Field(description="Invited email.")
    organization_id: uuid.UUID = Field(description="The inviting organization.")
    inviter: UserRead | None = Field(description="Who invited (null once deleted).")
    roles: list[InvitationRole] = Field(description="Assignments it carries until accepted.")
    teams: list[TeamRef] = Field(description="Teams it joins on acceptance.")
    expires: datetime = Field(description="When it expires (UTC).")
    accepted: bool = Field(description="True once accepted.")
    created: datetime = Field(description="Creation time (UTC).")
    invite_link: str | None = Field(
        description="Link to send the invitee: `GET` it (logged in as the invited email) "
        "to see the invitation, `POST …/accept` to accept. Null where `id` is."
    )
