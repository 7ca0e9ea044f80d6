from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, false, func, text
from sqlalchemy.orm import Mapped, mapped_column

from zenpro.kit.db import Base, IdMixin, TimestampMixin


class User(IdMixin, TimestampMixin, Base):
    """A human user or (``is_service_account``) an organization's service account."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(255), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    # Set by an administrator, or asserted by an identity provider; a user's own change
    # clears it. Only a verified email can take an invitation.
    email_verified: Mapped[bool] = mapped_column(default=False, server_default=false())
    name: Mapped[str | None] = mapped_column(String(255))
    avatar_url: Mapped[str | None] = mapped_column(String(1024))
    company: Mapped[str | None] = mapped_column(String(255))
    job_title: Mapped[str | None] = mapped_column(String(255))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    description: Mapped[str | None] = mapped_column(String(256))
    password_hash: Mapped[str | None] = mapped_column(String(512))
    is_active: Mapped[bool] = mapped_column(default=True)
    is_superuser: Mapped[bool] = mapped_column(default=False)
    is_service_account: Mapped[bool] = mapped_column(default=False)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE", use_alter=True)
    )
    is_onboarded: Mapped[bool] = mapped_column(default=False)
    password_expired: Mapped[bool] = mapped_column(default=False)
    # The identity the user last signed in with by single sign-on (``oidc_identities``
    # holds all of them); the real API's fields.
    oauth_provider: Mapped[str | None] = mapped_column(String(64))
    oauth_id: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        # Emails are unique among humans; service accounts have none.
        Index(
            "uq_users_email",
            "email",
            unique=True,
            sqlite_where=text("email IS NOT NULL"),
            postgresql_where=text("email IS NOT NULL"),
        ),
        Index("ix_users_organization_id", "organization_id", "created", "id"),  # its SAs
        Index("ix_users_created", "created", "id"),  # the list's order
        # Usernames are unique ignoring case: ``Admin`` cannot stand beside ``admin``.
        Index("uq_users_username_lower", func.lower(text("username")), unique=True),
    )
