"""tokens remember the API key they were exchanged from

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 10:00:00

Until now revoking one API key ended every ``api`` token of its owner (tokens did not say
which key they came from). Existing ``api`` tokens cannot be attributed, so they are ended
here: clients exchange their key again (the ZenML client does so on its own), and
``/auth/api_token`` tokens last an hour at most anyway.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(sa.text("DELETE FROM tokens WHERE kind = 'api'"))
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("api_key_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_tokens_api_key_id_api_keys"),
            "api_keys",
            ["api_key_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index("ix_tokens_api_key_id", ["api_key_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_tokens_api_key_id")
        batch_op.drop_constraint(batch_op.f("fk_tokens_api_key_id_api_keys"), type_="foreignkey")
        batch_op.drop_column("api_key_id")
