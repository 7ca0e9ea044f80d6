"""SSO events in the audit trail: sign-ins, links, just-in-time users and refusals.

Row changes (the user, the identity, the session) are recorded by ``zenpro.audit`` on
their own; these events say *why*, and record refusals, which change nothing else.
Never a token: only the provider, the subject, the email and the reason.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.config import Settings
from zenpro.kit.db import utcnow
from zenpro.kit.net import client_ip
from zenpro.models import AuditEvent


def record(
    db: AsyncSession,
    request: Request,
    settings: Settings,
    action: str,
    *,
    provider: str,
    outcome: str = "success",
    user_id: uuid.UUID | None = None,
    **details: Any,
) -> None:
    db.add(
        AuditEvent(
            created=utcnow(),
            organization_id=None,
            actor_type="user" if user_id else "anonymous",
            actor_id=user_id,
            ip=client_ip(request.scope, settings)[:64],
            request_id=str(request.scope.get("state", {}).get("request_id", ""))[:64] or None,
            via=f"{request.method} {request.url.path}"[:300],
            action=action[:16],
            resource_type="oidc_identities",
            resource_id=str(user_id) if user_id else None,
            outcome=outcome,
            changes={"provider": provider, **{k: v for k, v in details.items() if v is not None}},
        )
    )
