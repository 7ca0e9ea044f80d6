from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StrictBool, StringConstraints, model_validator
from pydantic.config import JsonDict

from zenpro.auth.passwords import MAX_LENGTH, MIN_LENGTH
from zenpro.kit.schemas import Email, InputModel, ReadModel, ShortText, TextObject, Url, text

Username = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@+\-]*$"),
    Field(description="Login name: letters, digits and . _ @ + -, starting alphanumeric."),
]
Password = Annotated[
    str,
    text(MAX_LENGTH, min_length=MIN_LENGTH),
    Field(description=f"{MIN_LENGTH} to {MAX_LENGTH} characters (no NUL)."),
]


class UserRead(ReadModel):
    """A user or service account. Never carries a password or any hash."""

    id: uuid.UUID = Field(description="User id.")
    username: str = Field(description="Unique login name.")
    email: str | None = Field(description="Email address (null for service accounts).")
    email_verified: bool = Field(
        description="Set by an administrator or asserted by single sign-on; cleared when the "
        "user changes it. Only a verified email can accept an invitation."
    )
    name: str | None = Field(description="Full name.")
    avatar_url: str | None = Field(description="Avatar image URL.")
    company: str | None = Field(description="Company.")
    job_title: str | None = Field(description="Job title.")
    metadata: dict[str, Any] = Field(
        validation_alias="metadata_", description="Free-form metadata."
    )
    is_active: bool = Field(description="False once deactivated: no credential works.")
    is_superuser: bool = Field(description="Superusers may do everything.")
    is_service_account: bool = Field(description="True for an organization service account.")
    organization_id: uuid.UUID | None = Field(description="Service accounts only: their org.")
    is_onboarded: bool = Field(description="Set by the user once onboarded.")
    password_expired: bool = Field(description="An admin set the password: change it.")
    oauth_provider: str | None = Field(
        None, description="Key of the single sign-on provider the user last signed in with."
    )
    oauth_id: str | None = Field(None, description="The user's subject (`sub`) at that provider.")
    created: datetime = Field(description="Creation time (UTC).")
    updated: datetime = Field(description="Last update (UTC).")


class UserCreate(InputModel):
    username: Username
    password: Password
    email: Email | None = Field(None, description="Email address; unique.")
    name: ShortText | None = Field(None, description="Full name.")
    is_superuser: StrictBool = Field(False, description="Make the new user a superuser.")


# Published as well as checked: a new password comes with the current one.
_NEEDS_OLD_PASSWORD: JsonDict = {
    "if": {"required": ["password"], "properties": {"password": {"type": "string"}}},
    "then": {"required": ["old_password"], "properties": {"old_password": {"type": "string"}}},
}


class UserUpdateMe(InputModel):
    model_config = ConfigDict(json_schema_extra=_NEEDS_OLD_PASSWORD)

    name: ShortText | None = Field(None, description="Full name.")
    email: Email | None = Field(
        None,
        description="Email address; unique. A changed address is unverified until an "
        "administrator confirms it or single sign-on asserts it.",
    )
    avatar_url: Url | None = Field(None, description="Avatar image URL.")
    company: ShortText | None = Field(None, description="Company.")
    job_title: ShortText | None = Field(None, description="Job title.")
    metadata: TextObject | None = Field(None, description="Free-form metadata (JSON, no NUL).")
    is_onboarded: StrictBool | None = Field(None, description="Mark onboarding as done.")
    password: Password | None = Field(None, description="New password (needs old_password).")
    old_password: Annotated[str, text(MAX_LENGTH)] | None = Field(
        None, description="The current password, required with `password` (wrong: 403)."
    )

    @model_validator(mode="after")
    def _old_password_with_new(self) -> UserUpdateMe:
        if self.password is not None and self.old_password is None:
            raise ValueError("To set a new password, send the current one as old_password")
        return self


class UserUpdateAdmin(InputModel):
    name: ShortText | None = Field(None, description="Full name.")
    username: Username | None = None
    email: Email | None = Field(
        None, description="Email address; unique. Set by an administrator, it is verified."
    )
    email_verified: StrictBool | None = Field(
        None, description="Confirm (true) or withdraw (false) the user's email address."
    )
    is_active: StrictBool | None = Field(None, description="Deactivate or reactivate the account.")
    is_superuser: StrictBool | None = Field(None, description="Grant or remove superuser.")
    password: Password | None = Field(
        None, description="Set a password; the user must change it (password_expired)."
    )
