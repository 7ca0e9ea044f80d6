"""cache epochs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "cache_epochs",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cache_epochs")),
    )
    op.bulk_insert(table, [{"name": "auth", "value": 0}, {"name": "grants", "value": 0}])


def downgrade() -> None:
    op.drop_table("cache_epochs")
