from __future__ import annotations

import uuid

from pydantic import BaseModel, Field, model_validator

from zenpro.kit.schemas import InputModel


class AllowedIds(BaseModel):
    """[wire] Both keys are required by the ZenML server."""

    full_access: bool = Field(description="True: every resource of the type is allowed.")
    ids: list[uuid.UUID] = Field(description="Otherwise, the ids shared with the user.")


class ResourceMembers(InputModel):
    """[wire] A share: the complete set of actions the member ends up with."""

    user_id: uuid.UUID | None = Field(None, description="Share with this user …")
    team_id: uuid.UUID | None = Field(None, description="… or with this team.")
    sharing_user_id: uuid.UUID | None = Field(None, description="Who shares (audit only).")
    resource: str = Field(max_length=200, description="A resource string with an id.")
    actions: list[str] = Field(max_length=16, description="Empty list = unshare.")

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
