from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from zenpro.kit.db import Base, IdMixin, utcnow


class Invitation(IdMixin, Base):
    __tablename__ = "invitations"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    email: Mapped[str] = mapped_column(String(320))
    inviter_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    expires: Mapped[datetime]
    accepted: Mapped[bool] = mapped_column(default=False)
    accepted_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_invitations_organization_id", "organization_id", "email"),
        Index("ix_invitations_organization_created", "organization_id", "created", "id"),
    )
