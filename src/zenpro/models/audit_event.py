from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from zenpro.kit.db import Base, IdMixin, utcnow


class AuditEvent(IdMixin, Base):
    """One state change: who, what, when, from where, and the outcome.

    Written by ``zenpro.audit`` *in the transaction of the change itself*, so an event
    exists exactly when its change committed. No foreign keys on purpose: the trail must
    outlive the users and organizations it mentions. Secret columns are redacted before
    they get here (see ``zenpro.audit.hooks.redact``).
    """

    __tablename__ = "audit_events"

    created: Mapped[datetime] = mapped_column(default=utcnow)
    organization_id: Mapped[uuid.UUID | None]
    actor_type: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[uuid.UUID | None]
    ip: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    via: Mapped[str | None] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(16))
    resource_type: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16), default="success")
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        # newest first, read backwards: (created, id) under each filter a list always has
        Index("ix_audit_events_organization_id", "organization_id", "created", "id"),
        Index("ix_audit_events_created", "created", "id"),
        Index("ix_audit_events_actor_id", "actor_id", "created", "id"),
    )
