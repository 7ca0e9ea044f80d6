"""Personal access tokens and service-account keys as the API shows and takes them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AliasChoices, Field, StrictBool

from zenpro.kit.schemas import JSON_INTEGER, InputModel, ReadModel, text


class APIKeyRead(ReadModel):
    """A personal access token or service-account key; the secret itself is never listed."""

    id: uuid.UUID = Field(description="Key id.")
    name: str = Field(description="Name of the key.")
    description: str | None = Field(description="What the key is for.")
    hint: str = Field(description="Prefix and last characters, to recognise the key.")
    active: bool = Field(description="False once deactivated: the key stops working.")
    expires: datetime | None = Field(description="Expiry (null: never).")
    last_used: datetime | None = Field(description="Last use (updated at most once a minute).")
    retain_until: datetime | None = Field(
        None,
        validation_alias=AliasChoices("previous_expires", "retain_until"),
        description="After a rotation: the previous key works until then.",
    )
    created: datetime = Field(description="Creation time (UTC).")
    updated: datetime = Field(description="Last update (UTC).")


class APIKeyWithSecret(APIKeyRead):
    """Returned once, at creation or rotation: `key` is the secret."""

    key: str = Field(description="The `ZENPROKEY_` secret. Shown only in this response.")

    @classmethod
    def of(cls, row: object, secret: str) -> APIKeyWithSecret:
        return cls(**APIKeyRead.model_validate(row).model_dump(), key=secret)


KeyName = Annotated[str, text(50, min_length=1)]
KeyDescription = Annotated[str, text(256)]


Lifetime = Annotated[int, Field(ge=1, le=60 * 24 * 366 * 10), JSON_INTEGER]
RetainMinutes = Annotated[int, Field(ge=0, le=60 * 24 * 30), JSON_INTEGER]


class APIKeyCreate(InputModel):
    name: KeyName = Field(description="Name of the key.")
    description: KeyDescription | None = Field(None, description="What the key is for.")
    expires_in_minutes: Lifetime | None = Field(
        None, description="Lifetime in minutes; null: never expires."
    )


class APIKeyUpdate(InputModel):
    name: KeyName | None = Field(None, description="New name.")
    description: KeyDescription | None = Field(None, description="New description.")
    active: StrictBool | None = Field(None, description="Deactivate (false) or reactivate the key.")
    expires_in_minutes: Lifetime | None = Field(
        None, description="New lifetime from now, in minutes."
    )


class APIKeyRotate(InputModel):
    retain_period_minutes: RetainMinutes = Field(
        0, description="How long the previous key keeps working (0: it stops at once)."
    )
    expires_in_minutes: Lifetime | None = Field(
        None, description="Lifetime of the new key; null: keep."
    )
