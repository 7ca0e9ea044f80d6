from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictBool, StringConstraints

from zenpro.kit.schemas import InputModel
from zenpro.users.schemas import Username, UserRead

ShortText = Annotated[str, StringConstraints(max_length=255)]
Description = Annotated[str, StringConstraints(max_length=256)]


class ServiceAccountRead(UserRead):
    """A service account: a user with ``is_service_account``, no password and no email."""

    description: str | None = Field(description="What the service account is for.")


class ServiceAccountCreate(InputModel):
    name: Username = Field(description="Unique login name of the service account.")
    display_name: ShortText | None = Field(None, description="Human-readable name.")
    description: Description | None = Field(None, description="What it is for.")


class ServiceAccountUpdate(InputModel):
    name: Username | None = Field(None, description="New login name.")
    display_name: ShortText | None = Field(None, description="Human-readable name.")
    description: Description | None = Field(None, description="What it is for.")
    is_active: StrictBool | None = Field(
        None, description="false deactivates it: every key and token stops at once."
    )
