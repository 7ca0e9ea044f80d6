"""Single sign-on: identities at OpenID providers, and sign-ins under way (``zenpro.sso``)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zenpro.kit.db import Base, IdMixin, utcnow


class OIDCIdentity(IdMixin, Base):
    """A user's account at one configured provider: ``(provider, sub)`` names it for good
    (an email may change hands; ``sub`` never does, OpenID Connect Core §5.7)."""

    __tablename__ = "oidc_identities"

    provider: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    email: Mapped[str | None] = mapped_column(String(320))
    created: Mapped[datetime] = mapped_column(default=utcnow)
    last_login: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("provider", "subject"),
        Index("ix_oidc_identities_user_id", "user_id"),
    )


class OIDCFlow(IdMixin, Base):
    """One sign-in started at ``/auth/oidc/<key>/login``: found by the hash of its
    ``state``, bound to the browser that started it (the hash of its flow cookie), deleted
    when the callback arrives (single use) and void after ``expires``."""

    __tablename__ = "oidc_flows"

    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    browser_hash: Mapped[str] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str] = mapped_column(String(128))
    code_verifier: Mapped[str] = mapped_column(String(128))
    next_url: Mapped[str] = mapped_column(String(2048))
    created: Mapped[datetime] = mapped_column(default=utcnow)
    expires: Mapped[datetime]

    __table_args__ = (Index("ix_oidc_flows_expires", "expires"),)
