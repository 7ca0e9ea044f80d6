from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from zenpro.kit.db import Base, IdMixin, utcnow


class Device(IdMixin, Base):
    """An RFC 8628 device authorization: pending, then approved or denied by a user."""

    __tablename__ = "devices"

    client_id: Mapped[str] = mapped_column(String(64))
    device_code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_code: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    workspace_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="SET NULL")
    )
    expires: Mapped[datetime]
    interval: Mapped[int] = mapped_column(default=5)
    last_poll: Mapped[datetime | None]
    user_agent: Mapped[str | None] = mapped_column(String(512))
    ip: Mapped[str | None] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_devices_user_code", "user_code"),
        Index("ix_devices_user_id", "user_id", "created", "id"),  # a user's list
    )
