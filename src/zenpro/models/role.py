from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from zenpro.kit.db import Base, IdMixin, TimestampMixin


class Role(IdMixin, TimestampMixin, Base):
    """A named set of (resource_type, action) pairs at one level.

    System roles have no organization and are read-only; custom roles belong to one.
    """

    __tablename__ = "roles"

    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(50))
    description: Mapped[str | None] = mapped_column(String(256))
    level: Mapped[str] = mapped_column(String(16))
    system_managed: Mapped[bool] = mapped_column(default=False)

    # Names are unique ignoring case: custom roles within their organization, system roles
    # among themselves. That a custom role may not take a system role's name is checked by
    # the service (roles.repository.name_taken): no unique index spans the two, and the
    # system roles are fixed data, so that check has nothing to race with.
    __table_args__ = (
        Index(
            "uq_roles_org_name_lower",
            "organization_id",
            func.lower(text("name")),
            unique=True,
            sqlite_where=text("organization_id IS NOT NULL"),
            postgresql_where=text("organization_id IS NOT NULL"),
        ),
        Index(
            "uq_roles_system_name_lower",
            func.lower(text("name")),
            unique=True,
            sqlite_where=text("organization_id IS NULL"),
            postgresql_where=text("organization_id IS NULL"),
        ),
    )


class RolePermission(Base):
    __tablename__ = "role_permissions"

    role_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True
    )
    resource_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    action: Mapped[str] = mapped_column(String(32), primary_key=True)
