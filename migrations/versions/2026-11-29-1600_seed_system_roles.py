"""seed system roles

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 16:00:00

System roles are data (spec §6). This writes them from ``zenpro.authz.vocabulary``; a later
change to that vocabulary ships with a migration that calls ``sync_system_roles`` again.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from zenpro.authz.vocabulary import SYSTEM_ROLES

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

roles = sa.table(
    "roles",
    sa.column("id", sa.Uuid()),
    sa.column("organization_id", sa.Uuid()),
    sa.column("name", sa.String()),
    sa.column("description", sa.String()),
    sa.column("level", sa.String()),
    sa.column("system_managed", sa.Boolean()),
    sa.column("created", sa.DateTime(timezone=True)),
    sa.column("updated", sa.DateTime(timezone=True)),
)
perms = sa.table(
    "role_permissions",
    sa.column("role_id", sa.Uuid()),
    sa.column("resource_type", sa.String()),
    sa.column("action", sa.String()),
)


def sync_system_roles() -> None:
    ids = [r.id for r in SYSTEM_ROLES]
    op.execute(perms.delete().where(perms.c.role_id.in_(ids)))
    op.execute(roles.delete().where(roles.c.id.in_(ids)))
    now = datetime.now(UTC)
    op.bulk_insert(
        roles,
        [
            {
                "id": r.id,
                "organization_id": None,
                "name": r.name,
                "description": r.description,
                "level": r.level.value,
                "system_managed": True,
                "created": now,
                "updated": now,
            }
            for r in SYSTEM_ROLES
        ],
    )
    op.bulk_insert(
        perms,
        [
            {"role_id": r.id, "resource_type": t, "action": a}
            for r in SYSTEM_ROLES
            for (t, a) in sorted(r.permissions)
        ],
    )


def upgrade() -> None:
    sync_system_roles()


def downgrade() -> None:
    ids = [r.id for r in SYSTEM_ROLES]
    op.execute(perms.delete().where(perms.c.role_id.in_(ids)))
    op.execute(roles.delete().where(roles.c.id.in_(ids)))
