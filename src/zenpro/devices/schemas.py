"""The device flow's answers (RFC 8628) and a user's devices."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from zenpro.kit.schemas import ReadModel


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
