"""single sign-on: oidc_identities, oidc_flows, users.oauth_provider/oauth_id

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 10:00:00

- ``oidc_identities``: a user's account at a configured OpenID provider, unique per
  (provider, sub); deleted with its user.
- ``oidc_flows``: sign-ins under way (state, nonce, PKCE verifier), single use and
  short-lived; nothing in it outlives ten minutes, so the downgrade loses nothing.
- ``users.oauth_provider`` / ``users.oauth_id``: the identity last signed in with, as the
  real API exposes it. Nullable, so existing users are untouched.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oidc_identities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_oidc_identities_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_identities")),
        sa.UniqueConstraint(
            "provider", "subject", name=op.f("uq_oidc_identities_provider_subject")
        ),
    )
    op.create_index("ix_oidc_identities_user_id", "oidc_identities", ["user_id"], unique=False)
    op.create_table(
        "oidc_flows",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("browser_hash", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("next_url", sa.String(length=2048), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_flows")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_oidc_flows_state_hash")),
    )
    op.create_index("ix_oidc_flows_expires", "oidc_flows", ["expires"], unique=False)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("oauth_provider", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("oauth_id", sa.String(length=255), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35+): recreating ``users`` in batch
    # mode would lose its expression index ``uq_users_username_lower`` (not reflectable).
    with op.batch_alter_table("users", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("oauth_id")
        batch_op.drop_column("oauth_provider")
    op.drop_index("ix_oidc_flows_expires", table_name="oidc_flows")
    op.drop_table("oidc_flows")
    op.drop_index("ix_oidc_identities_user_id", table_name="oidc_identities")
    op.drop_table("oidc_identities")
