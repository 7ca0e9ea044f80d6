"""list indexes under their parents: a user's keys, sessions and devices, an organization's
service accounts, workspaces and audit events, an actor's events; workspaces by owner

Each list's order is (created, id) under the filter it always has, so a page, first or deep
(by cursor), is an index range. Indexes they make redundant are dropped.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-09 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (name, table, columns now, columns before: None when new)
INDEXES: list[tuple[str, str, list[str], list[str] | None]] = [
    ("ix_api_keys_user_id", "api_keys", ["user_id", "created", "id"], ["user_id"]),
    ("ix_tokens_user_id", "tokens", ["user_id", "created", "id"], ["user_id"]),
    ("ix_devices_user_id", "devices", ["user_id", "created", "id"], ["user_id"]),
    ("ix_users_organization_id", "users", ["organization_id", "created", "id"], ["organization_id"]),
    (
        "ix_workspaces_organization_id",
        "workspaces",
        ["organization_id", "created", "id"],
        ["organization_id"],
    ),
    ("ix_workspaces_owner_id", "workspaces", ["owner_id"], None),
    (
        "ix_audit_events_organization_id",
        "audit_events",
        ["organization_id", "created", "id"],
        ["organization_id", "created"],
    ),
    ("ix_audit_events_created", "audit_events", ["created", "id"], ["created"]),
    ("ix_audit_events_actor_id", "audit_events", ["actor_id", "created", "id"], None),
]


def upgrade() -> None:
    for name, table, columns, before in INDEXES:
        if before is not None:
            op.drop_index(name, table_name=table)
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _, before in reversed(INDEXES):
        op.drop_index(name, table_name=table)
        if before is not None:
            op.create_index(name, table, before)
