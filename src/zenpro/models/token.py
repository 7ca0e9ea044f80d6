from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from zenpro.kit.db import Base, IdMixin, utcnow


class Token(IdMixin, Base):
    """A server-side bearer credential, looked up by the hash of its secret.

    ``kind`` is ``session`` (browser/password login), ``api`` (``/auth/api_token`` and
    API-key exchanges), ``device`` (device flow), ``machine`` (a workspace server) or
    ``exchange`` (the console signing its user in to one workspace, ``audience``).
    """

    __tablename__ = "tokens"

    kind: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    workspace_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    device_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE")
    )
    # The key an ``api`` token was exchanged from: revoking or deleting that key ends it.
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE")
    )
    # The token this one was minted with (``/auth/api_token``): ending it ends this one.
    parent_token_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tokens.id", ondelete="CASCADE")
    )
    created: Mapped[datetime] = mapped_column(default=utcnow)
    last_used: Mapped[datetime] = mapped_column(default=utcnow)
    expires: Mapped[datetime]
    idle_minutes: Mapped[int | None]
    user_agent: Mapped[str | None] = mapped_column(String(512))
    ip: Mapped[str | None] = mapped_column(String(64))
    # An ``exchange`` token's one use: ``GET /users/authorize_server`` for this workspace id
    # (no foreign key: the token dies within a minute, the workspace may be deleted first).
    audience: Mapped[uuid.UUID | None]

    __table_args__ = (
        Index("ix_tokens_user_id", "user_id", "created", "id"),  # a user's sessions
        Index("ix_tokens_workspace_id", "workspace_id"),
        Index("ix_tokens_device_id", "device_id"),
        Index("ix_tokens_api_key_id", "api_key_id"),
        Index("ix_tokens_parent_token_id", "parent_token_id"),
    )
