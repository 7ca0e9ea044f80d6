from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, Field, StrictBool

from zenpro.kit.schemas import JSON_INTEGER, InputModel, ReadModel, text


class TokenResponse(BaseModel):
    """OAuth token response (spec §4, [wire])."""

    access_token: str = Field(description="The bearer token. Shown once.")
    token_type: str = Field("bearer", description="Always `bearer`.")
    expires_in: int = Field(description="Seconds until the token expires.")
    device_id: uuid.UUID | None = Field(None, description="Device flow: the device id.")
    device_metadata: dict[str, Any] | None = Field(
        None, description="Device flow: `tenant_id` is the workspace the user chose."
    )


class OAuthError(BaseModel):
    """OAuth error body: exactly these keys, nothing else ([wire])."""

    error: str
    error_description: str | None = None
    error_uri: str | None = None
    status_code: int = 400


class SessionRead(ReadModel):
    id: uuid.UUID = Field(description="Session id.")
    kind: str = Field(description="session, api, device or machine.")
    created: datetime = Field(description="When it was issued.")
    last_used: datetime = Field(description="Last use (updated at most once a minute).")
    expires: datetime = Field(description="Absolute expiry.")
    user_agent: str | None = Field(description="User agent at login.")
    ip: str | None = Field(description="Client address at login.")
    current: bool = Field(False, description="True for the session making this request.")


class DeviceAuthorization(BaseModel):
    """RFC 8628 device authorization response ([wire]: status 200)."""

    device_code: str = Field(description="Secret the CLI polls with. Shown once.")
    user_code: str = Field(description="Short code the user confirms on the verification page.")
    verification_uri: str = Field(description="Verification page (relative to the API URL).")
    verification_uri_complete: str = Field(description="Verification page with the user code.")
    expires_in: int = Field(description="Seconds until the codes expire.")
    interval: int = Field(description="Minimum seconds between two polls.")


class DeviceRead(ReadModel):
    """A device (CLI) a user authorized through the device flow."""

    id: uuid.UUID = Field(description="Device id (the CLI's `device_id`).")
    client_id: str = Field(description="The client id the CLI sent.")
    status: str = Field(description="pending, approved, active or denied.")
    workspace_id: uuid.UUID | None = Field(description="Workspace chosen when approving.")
    user_agent: str | None = Field(description="User agent of the CLI.")
    ip: str | None = Field(description="Client address of the CLI.")
    last_poll: datetime | None = Field(description="Last time the CLI polled.")
    created: datetime = Field(description="When the device flow started.")


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
