from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from zenpro.kit.db import Base, IdMixin, utcnow


class Share(IdMixin, Base):
    """One action on one workspace resource, shared with a user or a team."""

    __tablename__ = "shares"

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    project_id: Mapped[uuid.UUID | None]
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[uuid.UUID]
    action: Mapped[str] = mapped_column(String(32))
    shared_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    share_key: Mapped[str] = mapped_column(String(200), unique=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def grant(
        cls,
        workspace_id: uuid.UUID,
        resource_type: str,
        resource_id: uuid.UUID,
        action: str,
        *,
        user_id: uuid.UUID | None = None,
        team_id: uuid.UUID | None = None,
        project_id: uuid.UUID | None = None,
        shared_by_id: uuid.UUID | None = None,
    ) -> Share:
        """A new share with its ``share_key`` (one per workspace, subject, resource and
        action: the unique index refuses a second)."""
        who = f"u{user_id.hex}" if user_id else f"t{team_id.hex}" if team_id else ""
        return cls(
            workspace_id=workspace_id,
            user_id=user_id,
            team_id=team_id,
            project_id=project_id,
            resource_type=resource_type,
            resource_id=resource_id,
            action=action,
            shared_by_id=shared_by_id,
            share_key=f"{workspace_id.hex}:{who}:{resource_type}:{resource_id.hex}:{action}",
        )

    __table_args__ = (
        CheckConstraint("(user_id IS NULL) != (team_id IS NULL)", name="one_subject"),
        Index("ix_shares_user_id", "user_id", "workspace_id"),
        Index("ix_shares_team_id", "team_id", "workspace_id"),
        Index("ix_shares_resource", "workspace_id", "resource_type", "resource_id"),
    )
