"""organizations' own instances of the system roles (role_aliases)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 10:00:00

The real API lists each organization's roles with ids of their own, and ZenML's IdP-sync
script assigns a role by that id alone (``POST /roles/{id}/assignments?user_id=…``). A row
per (organization, system role) names the pair; assignments keep the system role's id,
so no assignment is touched and the downgrade only drops the table.
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same namespace as zenpro.models.role_alias (ids must never change).
_NAMESPACE = uuid.UUID("5f0a6a52-7d5c-4f4e-9a64-3c3f0b1f2e01")


def upgrade() -> None:
    table = op.create_table(
        "role_aliases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("role_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_role_aliases_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["roles.id"],
            name=op.f("fk_role_aliases_role_id_roles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_aliases")),
        sa.UniqueConstraint(
            "organization_id", "role_id", name=op.f("uq_role_aliases_organization_id_role_id")
        ),
    )
    op.create_index("ix_role_aliases_role_id", "role_aliases", ["role_id"], unique=False)
    conn = op.get_bind()
    orgs = [r[0] for r in conn.execute(sa.text("SELECT id FROM organizations"))]
    roles = [r[0] for r in conn.execute(sa.text("SELECT id FROM roles WHERE organization_id IS NULL"))]
    rows = [
        {"id": uuid.uuid5(_NAMESPACE, f"{_uuid(o)}:{_uuid(r)}"), "organization_id": _uuid(o), "role_id": _uuid(r)}
        for o in orgs
        for r in roles
    ]
    if rows:
        op.bulk_insert(table, rows)


def _uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def downgrade() -> None:
    op.drop_index("ix_role_aliases_role_id", table_name="role_aliases")
    op.drop_table("role_aliases")
