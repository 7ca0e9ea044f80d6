"""Queries over ``audit_events``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from zenpro.models import AuditEvent


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    resource_type: str | None = None
    actor_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None


# Newest first; one way for both keys, so the (created, id) index serves it backwards.
ORDER = (AuditEvent.created.desc(), AuditEvent.id.desc())


def list_stmt(organization_id: uuid.UUID | None, f: AuditFilter) -> Select[Any]:
    """Events of one organization (``None``: all of them), filtered."""
    stmt = select(AuditEvent)
    if organization_id is not None:
        stmt = stmt.where(AuditEvent.organization_id == organization_id)
    if f.action is not None:
        stmt = stmt.where(AuditEvent.action == f.action)
    if f.resource_type is not None:
        stmt = stmt.where(AuditEvent.resource_type == f.resource_type)
    if f.actor_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == f.actor_id)
    if f.since is not None:
        stmt = stmt.where(AuditEvent.created >= f.since)
    if f.until is not None:
        stmt = stmt.where(AuditEvent.created < f.until)
    return stmt
