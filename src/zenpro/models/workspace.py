from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from zenpro.kit.db import Base, IdMixin, TimestampMixin, utcnow


class Workspace(IdMixin, TimestampMixin, Base):
    """A ZenML server ("tenant") owned by an organization; see spec §8 for its lifecycle."""

    __tablename__ = "workspaces"

    name: Mapped[str] = mapped_column(String(50))
    display_name: Mapped[str | None] = mapped_column(String(50))
    description: Mapped[str | None] = mapped_column(String(256))
    logo_url: Mapped[str | None] = mapped_column(String(1024))
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    is_managed: Mapped[bool] = mapped_column(default=True)
    enrollment_key_hash: Mapped[str | None] = mapped_column(String(64))
    desired_state: Mapped[str] = mapped_column(String(32), default="available")
    status: Mapped[str] = mapped_column(String(32), default="not_initialized")
    state_reason: Mapped[str] = mapped_column(String(1024), default="")
    status_updated: Mapped[datetime] = mapped_column(default=utcnow)
    zenml_version: Mapped[str | None] = mapped_column(String(64))
    server_url: Mapped[str | None] = mapped_column(String(1024))
    server_version: Mapped[str | None] = mapped_column(String(64))
    usage_counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        # A name is unique among workspaces that are not deleted (the CLI looks up by name).
        Index(
            "uq_workspaces_live_name",
            "name",
            unique=True,
            sqlite_where=text("status != 'deleted'"),
            postgresql_where=text("status != 'deleted'"),
        ),
        Index("ix_workspaces_organization_id", "organization_id", "created", "id"),
        Index("ix_workspaces_owner_id", "owner_id"),
        Index("ix_workspaces_created", "created", "id"),  # the list's order
        Index("ix_workspaces_server_url", "server_url"),
    )
