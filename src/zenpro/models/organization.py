from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from zenpro.kit.db import Base, IdMixin, TimestampMixin


class Organization(IdMixin, TimestampMixin, Base):
    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(50), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(50))
    description: Mapped[str | None] = mapped_column(String(256))
    logo_url: Mapped[str | None] = mapped_column(String(1024))
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))

    __table_args__ = (
        Index("ix_organizations_owner_id", "owner_id"),
        Index("ix_organizations_created", "created", "id"),  # the list's order
        # Names are display names, unique ignoring case (``Production`` and ``production``
        # cannot both exist). The exact-name constraint above stays, implied by this one:
        # SQLite could only drop it by copying the table, and copying a parent table with
        # foreign keys on would cascade deletes into its children.
        Index("uq_organizations_name_lower", func.lower(text("name")), unique=True),
    )
