"""credential lineage, verified emails, usernames unique ignoring case

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 10:00:00

- ``tokens.parent_token_id``: the token a token was minted with (``/auth/api_token``);
  ``api_keys.source_token_id`` / ``source_key_id``: the delegated credential a key was
  created with. All ``ON DELETE CASCADE``, so ending a source ends what came from it.
  Existing rows cannot be attributed and stay roots; ``api`` tokens minted with another
  token last an hour at most anyway.
- ``users.email_verified``: accepting an invitation needs a verified email. Emails that
  exist before this migration were set by an administrator or by their user under the
  old rules; they are taken as verified (the upgrade cannot tell them apart).
- ``uq_users_username_lower``: ``Admin`` and ``admin`` can no longer both exist. The
  upgrade stops with a message naming the clashing usernames if any exist already.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _refuse_case_clashes() -> None:
    rows = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT lower(username) AS u, count(*) AS n FROM users "
                "GROUP BY lower(username) HAVING count(*) > 1"
            )
        )
        .all()
    )
    if rows:
        names = ", ".join(str(r[0]) for r in rows[:20])
        raise RuntimeError(
            "Usernames that differ only by case exist and must be renamed before this "
            f"upgrade (PATCH /users/{{id}} as a superuser): {names}"
        )


def upgrade() -> None:
    _refuse_case_clashes()
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_token_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_tokens_parent_token_id_tokens"),
            "tokens",
            ["parent_token_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index("ix_tokens_parent_token_id", ["parent_token_id"], unique=False)
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_token_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("source_key_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_api_keys_source_token_id_tokens"),
            "tokens",
            ["source_token_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_api_keys_source_key_id_api_keys"),
            "api_keys",
            ["source_key_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index("ix_api_keys_source_token_id", ["source_token_id"], unique=False)
        batch_op.create_index("ix_api_keys_source_key_id", ["source_key_id"], unique=False)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "email_verified", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    # Outside the batch: SQLite's table copy cannot carry an expression index.
    op.create_index("uq_users_username_lower", "users", [sa.text("lower(username)")], unique=True)
    op.execute(sa.text("UPDATE users SET email_verified = (email IS NOT NULL)"))


def downgrade() -> None:
    op.drop_index("uq_users_username_lower", table_name="users")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("email_verified")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_api_keys_source_key_id")
        batch_op.drop_index("ix_api_keys_source_token_id")
        batch_op.drop_constraint(
            batch_op.f("fk_api_keys_source_key_id_api_keys"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_api_keys_source_token_id_tokens"), type_="foreignkey"
        )
        batch_op.drop_column("source_key_id")
        batch_op.drop_column("source_token_id")
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_tokens_parent_token_id")
        batch_op.drop_constraint(batch_op.f("fk_tokens_parent_token_id_tokens"), type_="foreignkey")
        batch_op.drop_column("parent_token_id")
