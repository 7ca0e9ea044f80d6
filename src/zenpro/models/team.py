from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from zenpro.kit.db import Base, IdMixin, TimestampMixin, utcnow


class Team(IdMixin, TimestampMixin, Base):
    __tablename__ = "teams"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(50))
    description: Mapped[str | None] = mapped_column(String(256))

    __table_args__ = (
        UniqueConstraint("organization_id", "name"),
        # Unique ignoring case within the organization; the exact constraint stays, implied
        # by this one (see models.organization for why it is not dropped).
        Index("uq_teams_org_name_lower", "organization_id", func.lower(text("name")), unique=True),
        Index("ix_teams_organization_created", "organization_id", "created", "id"),  # the list
    )


class TeamMember(IdMixin, Base):
    """A user, or a pending invitation, in a team."""

    __tablename__ = "team_members"

    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    invitation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("invitations.id", ondelete="CASCADE")
    )
    created: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("team_id", "user_id"),
        UniqueConstraint("team_id", "invitation_id"),
        CheckConstraint("(user_id IS NULL) != (invitation_id IS NULL)", name="one_member"),
        Index("ix_team_members_user_id", "user_id"),
        Index("ix_team_members_team_created", "team_id", "created", "id"),  # a team's list
        Index("ix_team_members_invitation_id", "invitation_id"),
    )
