from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, ForeignKey, Index, UniqueConstraint, event, insert, select
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from zenpro.kit.db import Base
from zenpro.models.organization import Organization
from zenpro.models.role import Role

# Fixed: alias ids must stay the same across releases (clients store them).
_NAMESPACE = uuid.UUID("5f0a6a52-7d5c-4f4e-9a64-3c3f0b1f2e01")


# A pure function (uuid5), asked for every role of every member on a members page.
@lru_cache(maxsize=4096)
def alias_id(organization_id: uuid.UUID, role_id: uuid.UUID) -> uuid.UUID:
    """The id under which organization ``organization_id`` shows system role ``role_id``."""
    return uuid.uuid5(_NAMESPACE, f"{organization_id}:{role_id}")


class RoleAlias(Base):
    """A system role as one organization's own instance, as the real API lists them: its id
    alone names both the role and the organization, so ``POST /roles/{id}/assignments``
    needs no ``organization_id``. Assignments still store the system role's id; an alias
    is only a name for (organization, system role). One row per organization and system
    role, written with the organization (see the hook below) and by migration 0008."""

    __tablename__ = "role_aliases"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    role_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"))

    __table_args__ = (
        UniqueConstraint("organization_id", "role_id"),
        Index("ix_role_aliases_role_id", "role_id"),
    )


@event.listens_for(Organization, "after_insert")
def _aliases_for_new_organization(_mapper: Mapper[Any], conn: Connection, org: Any) -> None:
    """Every organization, however it is created, gets its instances of the system roles."""
    system = conn.execute(select(Role.id).where(Role.organization_id.is_(None))).scalars().all()
    if system:
        conn.execute(
            insert(RoleAlias),
            [
                {"id": alias_id(org.id, rid), "organization_id": org.id, "role_id": rid}
                for rid in system
            ],
        )
