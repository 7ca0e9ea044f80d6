from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from zenpro.kit.schemas import ReadModel


class AuditEventRead(ReadModel):
    """One recorded state change."""

    id: uuid.UUID = Field(description="Event id.")
    created: datetime = Field(description="When the change committed (UTC).")
    organization_id: uuid.UUID | None = Field(description="The organization it concerns, if any.")
    actor_type: str = Field(
        description="`user`, `service_account`, `workspace`, `anonymous` or `system`."
    )
    actor_id: uuid.UUID | None = Field(description="The user, service account or workspace.")
    ip: str | None = Field(description="The client address (trusted proxies resolved).")
    request_id: str | None = Field(description="The request's `X-Request-ID`.")
    via: str | None = Field(description="Method and path of the request.")
    action: str = Field(description="`create`, `update` or `delete`.")
    resource_type: str = Field(description="The table changed, e.g. `teams`.")
    resource_id: str | None = Field(description="The row changed (absent for bulk changes).")
    outcome: str = Field(description="`success`: only committed changes are recorded.")
    changes: dict[str, Any] = Field(
        description="New values (create/update) or the removed row (delete); secrets redacted."
    )
