from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import EmailStr, Field, StrictBool, StringConstraints

from zenpro.auth.passwords import MAX_LENGTH, MIN_LENGTH
from zenpro.kit.schemas import InputModel, ReadModel, Url

Username = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@+\-]*$"),
    Field(description="Login name: letters, digits and . _ @ + -, starting alphanumeric."),
]
Password = Annotated[
    str,
    StringConstraints(min_length=MIN_LENGTH, max_length=MAX_LENGTH),
    Field(description=f"{MIN_LENGTH} to {MAX_LENGTH} characters."),
]
ShortText = Annotated[str, StringConstraints(max_length=255)]


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
    created: datetime = Field(description="Creation time (UTC).")
    updated: datetime = Field(description="Last update (UTC).")


class UserCreate(InputModel):
    username: Username
    password: Password
    email: EmailStr | None = Field(None, description="Email address; unique.")
    name: ShortText | None = Field(None, description="Full name.")
    is_superuser: StrictBool = Field(False, description="Make the new user a superuser.")


class UserUpdateMe(InputModel):
    name: ShortText | None = Field(None, description="Full name.")
    email: EmailStr | None = Field(
        None,
        description="Email address; unique. A changed address is unverified until an "
        "administrator confirms it or single sign-on asserts it.",
    )
    avatar_url: Url | None = Field(None, description="Avatar image URL.")
    company: ShortText | None = Field(None, description="Company.")
    job_title: ShortText | None = Field(None, description="Job title.")
    metadata: dict[str, Any] | None = Field(None, description="Free-form metadata.")
    is_onboarded: StrictBool | None = Field(None, description="Mark onboarding as done.")
    password: Password | None = Field(None, description="New password (needs old_password).")
    old_password: Annotated[str, StringConstraints(max_length=MAX_LENGTH)] | None = Field(
        None, description="The current password, required to set a new one."
    )


class UserUpdateAdmin(InputModel):
    name: ShortText | None = Field(None, description="Full name.")
    username: Username | None = None
    email: EmailStr | None = Field(
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
