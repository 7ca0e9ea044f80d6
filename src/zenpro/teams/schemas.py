from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from zenpro.kit.schemas import Description, InputModel, Name
from zenpro.users.schemas import UserRead


class TeamRead(BaseModel):
    id: uuid.UUID = Field(description="Team id.")
    name: str = Field(
        description="Display name (e.g. `Data Science`), unique in the organization ignoring case."
    )
    description: str | None = Field(description="Description.")
    organization_id: uuid.UUID = Field(description="The team's organization.")
    member_count: int = Field(description="Users and pending invitations in the team.")
    created: datetime = Field(description="Creation time (UTC).")
    updated: datetime = Field(description="Last update (UTC).")


class TeamCreate(InputModel):
    name: Name
    description: Description | None = Field(None, description="Description.")
    organization_id: uuid.UUID = Field(description="The organization to create it in.")


class TeamUpdate(InputModel):
    name: Name | None = None
    description: Description | None = Field(None, description="Description.")


class TeamMemberRead(BaseModel):
    """A user in the team, or a pending invitation that will become one."""

    user: UserRead | None = Field(None, description="The member, when a user.")
    invitation_id: uuid.UUID | None = Field(None, description="The invitation, when pending.")
    email: str | None = Field(None, description="The user's or the invited email.")
    created: datetime = Field(description="When they joined the team (UTC).")
