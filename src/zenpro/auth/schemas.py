from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from zenpro.kit.schemas import ReadModel


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
    kind: str = Field(
        description="session, api, device, or exchange (the console signing you in to one "
        "workspace server; one minute)."
    )
    created: datetime = Field(description="When it was issued.")
    last_used: datetime = Field(description="Last use (updated at most once a minute).")
    expires: datetime = Field(description="Absolute expiry.")
    user_agent: str | None = Field(description="User agent at login.")
    ip: str | None = Field(description="Client address at login.")
    current: bool = Field(False, description="True for the session making this request.")
