from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from zenpro.kit.db import Base, IdMixin, TimestampMixin


class APIKey(IdMixin, TimestampMixin, Base):
    """A personal access token or a service-account key (``ZENPROKEY_…``), stored hashed.

    After a rotation the previous hash keeps working until ``previous_expires``.
    """

    __tablename__ = "api_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(50))
    description: Mapped[str | None] = mapped_column(String(256))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(32))
    previous_key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    previous_expires: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    expires: Mapped[datetime | None]
    last_used: Mapped[datetime | None]
    # The delegated credential this key was created with (a device, API or exchanged
    # token, or another key); ending that source ends this key. None: a root credential
    # (created in a browser or password session, or by an administrator).
    source_token_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tokens.id", ondelete="CASCADE", use_alter=True)  # tokens → api_keys too
    )
    source_key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE")
    )

    __table_args__ = (
        Index("ix_api_keys_user_id", "user_id", "created", "id"),  # a user's list
        Index("ix_api_keys_source_token_id", "source_token_id"),
        Index("ix_api_keys_source_key_id", "source_key_id"),
    )
