"""list indexes: every list's order (created, id), under its parent where it has one

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 11:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = [
    ("ix_users_created", "users", ["created", "id"]),
    ("ix_organizations_created", "organizations", ["created", "id"]),
    ("ix_workspaces_created", "workspaces", ["created", "id"]),
    ("ix_teams_organization_created", "teams", ["organization_id", "created", "id"]),
    ("ix_team_members_team_created", "team_members", ["team_id", "created", "id"]),
    ("ix_invitations_organization_created", "invitations", ["organization_id", "created", "id"]),
    ("ix_role_assignments_role_created", "role_assignments", ["role_id", "created", "id"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
