"""display names: organization, team and custom-role names unique ignoring case

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 10:00:00

Organization, team and custom-role names become display names (``Production``, ``Data
Science``), unique ignoring case: organizations globally, teams and custom roles within
their organization, system roles among themselves.

- ``uq_organizations_name_lower``, ``uq_teams_org_name_lower``: unique indexes on
  ``lower(name)``. The exact-name constraints ``uq_organizations_name`` and
  ``uq_teams_organization_id_name`` stay (the new indexes imply them): SQLite can only
  drop an inline UNIQUE by copying the table, and with foreign keys on, dropping the old
  copy of a parent table cascades deletes into its children.
- ``uq_roles_org_name`` / ``uq_roles_system_name`` are replaced by
  ``uq_roles_org_name_lower`` / ``uq_roles_system_name_lower`` (same partial conditions).
- Custom-role names lose trailing spaces (the old rules allowed them; names are now
  stored trimmed). Organization and team names were slugs: nothing to change.

The indexes are created outside batch mode: SQLite's table copy cannot carry expression
indexes (a later batch migration of these tables must re-create them). ``lower()`` is the
database's: ASCII letters on SQLite, the locale's case mapping on PostgreSQL.

The upgrade stops, naming them, if names already clash ignoring case (possible for custom
roles, which allowed capitals), or if a custom role is named like a system role (ignoring
case): rename those first (``PATCH /roles/{id}``), then upgrade.

Downgrade drops the new indexes and restores the two exact role indexes (which cannot
fail: names unique ignoring case are unique). Names written after the upgrade with
capitals, spaces or punctuation are kept as they are; the previous release cannot create
such names but stores and returns them, and finds those organizations by id. Trailing
spaces trimmed from role names are not restored.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CUSTOM = "organization_id IS NOT NULL"
_SYSTEM = "organization_id IS NULL"

# (what clashes, query returning one row per clash: a scope and the lowered name)
_CLASHES = [
    (
        "organization names that differ only by case",
        "SELECT '' AS scope, lower(name) AS n FROM organizations "
        "GROUP BY lower(name) HAVING count(*) > 1",
    ),
    (
        "team names that differ only by case in one organization",
        "SELECT organization_id AS scope, lower(name) AS n FROM teams "
        "GROUP BY organization_id, lower(name) HAVING count(*) > 1",
    ),
    (
        "custom role names that differ only by case or trailing spaces in one organization",
        "SELECT organization_id AS scope, lower(rtrim(name)) AS n FROM roles "
        f"WHERE {_CUSTOM} GROUP BY organization_id, lower(rtrim(name)) HAVING count(*) > 1",
    ),
    (
        "custom roles named like a system role",
        "SELECT c.organization_id AS scope, c.name AS n FROM roles c JOIN roles s "
        "ON s.organization_id IS NULL AND lower(rtrim(c.name)) = lower(s.name) "
        "WHERE c.organization_id IS NOT NULL",
    ),
    (
        "system role names that differ only by case",
        f"SELECT '' AS scope, lower(name) AS n FROM roles WHERE {_SYSTEM} "
        "GROUP BY lower(name) HAVING count(*) > 1",
    ),
]


def _refuse_clashes() -> None:
    bind = op.get_bind()
    found = []
    for what, query in _CLASHES:
        rows = bind.execute(sa.text(query)).all()
        if rows:
            shown = ", ".join(
                f"{r[1]!r}" + (f" (organization {r[0]})" if r[0] else "") for r in rows[:20]
            )
            found.append(f"{what}: {shown}")
    if found:
        raise RuntimeError(
            "Names must be unique ignoring case from this release on; rename these first "
            "(PATCH /organizations/{id}, /teams/{id} or /roles/{id}), then upgrade. "
            + "; ".join(found)
        )


def upgrade() -> None:
    _refuse_clashes()
    op.execute(
        sa.text(f"UPDATE roles SET name = rtrim(name) WHERE {_CUSTOM} AND name <> rtrim(name)")
    )
    # Outside any batch: SQLite's table copy cannot carry an expression index.
    op.drop_index("uq_roles_org_name", table_name="roles")
    op.drop_index("uq_roles_system_name", table_name="roles")
    lower = sa.text("lower(name)")
    op.create_index("uq_organizations_name_lower", "organizations", [lower], unique=True)
    op.create_index("uq_teams_org_name_lower", "teams", ["organization_id", lower], unique=True)
    op.create_index(
        "uq_roles_org_name_lower",
        "roles",
        ["organization_id", lower],
        unique=True,
        sqlite_where=sa.text(_CUSTOM),
        postgresql_where=sa.text(_CUSTOM),
    )
    op.create_index(
        "uq_roles_system_name_lower",
        "roles",
        [lower],
        unique=True,
        sqlite_where=sa.text(_SYSTEM),
        postgresql_where=sa.text(_SYSTEM),
    )


def downgrade() -> None:
    op.drop_index("uq_roles_system_name_lower", table_name="roles")
    op.drop_index("uq_roles_org_name_lower", table_name="roles")
    op.drop_index("uq_teams_org_name_lower", table_name="teams")
    op.drop_index("uq_organizations_name_lower", table_name="organizations")
    op.create_index(
        "uq_roles_system_name",
        "roles",
        ["name"],
        unique=True,
        sqlite_where=sa.text(_SYSTEM),
        postgresql_where=sa.text(_SYSTEM),
    )
    op.create_index(
        "uq_roles_org_name",
        "roles",
        ["organization_id", "name"],
        unique=True,
        sqlite_where=sa.text(_CUSTOM),
        postgresql_where=sa.text(_CUSTOM),
    )
