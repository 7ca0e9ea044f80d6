"""Migration 0007 (display names) on a database that already holds data, both backends.

A database at 0006 with organizations, teams, custom roles, memberships and assignments
upgrades to 0007 keeping every row and name (custom-role names lose trailing spaces),
takes display names, and downgrades back to 0006 keeping them; names that clash ignoring
case stop the upgrade with a message naming them.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.services import PG_URL, need, worker
from zenpro.authz.vocabulary import ORG_ADMIN_ID
from zenpro.kit.db import make_engine
from zenpro.kit.migrate import alembic_config

UUID, TEXT, FLAG, STAMP = sa.Uuid(), sa.String(), sa.Boolean(), sa.DateTime(timezone=True)


def _table(
    name: str, stamps: tuple[str, ...] = ("created", "updated"), /, **columns: Any
) -> sa.TableClause:
    return sa.table(
        name,
        *(sa.column(column, kind) for column, kind in columns.items()),
        *(sa.column(stamp, STAMP) for stamp in stamps),
    )


# The tables as they are at 0006 (not the models, which follow the head).
USERS = _table(
    "users",
    id=UUID,
    username=TEXT,
    metadata=sa.JSON(),
    **dict.fromkeys(("is_active", "is_superuser", "is_service_account"), FLAG),
    **dict.fromkeys(("is_onboarded", "password_expired"), FLAG),
)
ORGS = _table("organizations", id=UUID, name=TEXT, owner_id=UUID)
TEAMS = _table("teams", id=UUID, name=TEXT, organization_id=UUID)
ROLES = _table("roles", id=UUID, name=TEXT, organization_id=UUID, level=TEXT, system_managed=FLAG)
MEMBERS = _table("team_members", ("created",), id=UUID, team_id=UUID, user_id=UUID)
ASSIGNMENTS = _table(
    "role_assignments",
    ("created",),
    **dict.fromkeys(("id", "role_id", "user_id", "team_id", "organization_id"), UUID),
    scope_key=TEXT,
)


@pytest.fixture(params=["sqlite", "postgres"])
async def url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """An empty database of this test's own (never the suite's)."""
    if request.param == "sqlite":
        tmp = Path(os.environ.get("ZENPRO_TEST_TMP", tempfile.gettempdir()))
        path = tmp / f"zenpro_test_{worker()}_{os.getpid()}_upgrade.db"
        yield f"sqlite+aiosqlite:///{path}"
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            p.unlink(missing_ok=True)
        return
    need("postgres")
    name = f"zenpro_test_{worker()}_upgrade"
    raw = PG_URL.replace("postgresql+asyncpg://", "postgresql://") + "/postgres"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(raw)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin(f'CREATE DATABASE "{name}"')
    yield f"{PG_URL}/{name}"
    await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _migrate(url: str, direction: str, revision: str) -> None:
    # Alembic's env runs its own event loop: give it a thread.
    step = command.upgrade if direction == "up" else command.downgrade
    await asyncio.to_thread(step, alembic_config(url), revision)


@asynccontextmanager
async def _engine(url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _seed(
    engine: AsyncEngine, *, roles: Sequence[str] = (), teams: Sequence[str] = ()
) -> tuple[uuid.UUID, uuid.UUID]:
    """User ``alice`` owning organizations ``acme`` (with teams, their memberships, custom
    roles and assignments) and ``acme-2``, at 0006: (user id, acme's id)."""
    now = datetime.now(UTC)
    stamps = {"created": now, "updated": now}
    user, org = uuid.uuid4(), uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(
            USERS.insert().values(
                id=user,
                username="alice",
                metadata={},
                is_active=True,
                is_superuser=False,
                is_service_account=False,
                is_onboarded=True,
                password_expired=False,
                **stamps,
            )
        )
        await conn.execute(ORGS.insert().values(id=org, name="acme", owner_id=user, **stamps))
        await conn.execute(
            ORGS.insert().values(id=uuid.uuid4(), name="acme-2", owner_id=user, **stamps)
        )
        grant = ASSIGNMENTS.insert().values(user_id=user, organization_id=org, created=now)
        await conn.execute(
            grant.values(
                id=uuid.uuid4(), role_id=ORG_ADMIN_ID, scope_key=f"{ORG_ADMIN_ID}:{org}:user:{user}"
            )
        )
        for name in teams:
            team = uuid.uuid4()
            await conn.execute(
                TEAMS.insert().values(id=team, name=name, organization_id=org, **stamps)
            )
            await conn.execute(
                MEMBERS.insert().values(id=uuid.uuid4(), team_id=team, user_id=user, created=now)
            )
        for name in roles:
            role = uuid.uuid4()
            await conn.execute(
                ROLES.insert().values(
                    id=role,
                    name=name,
                    organization_id=org,
                    level="workspace",
                    system_managed=False,
                    **stamps,
                )
            )
            await conn.execute(
                grant.values(id=uuid.uuid4(), role_id=role, scope_key=f"{role}:{org}:user:{user}")
            )
    return user, org


async def _snapshot(engine: AsyncEngine) -> dict[str, Any]:
    async with engine.connect() as conn:
        out: dict[str, Any] = {}
        for table in (ORGS, TEAMS, ROLES):
            rows = await conn.execute(sa.select(table.c.id, table.c.name))
            out[table.name] = dict(rows.all())
        for table in (MEMBERS, ASSIGNMENTS):
            rows = await conn.execute(sa.select(table.c.id))
            out[table.name] = {r[0] for r in rows}
        return out


async def test_upgrade_keeps_every_row_and_name_and_downgrades_back(url: str) -> None:
    await _migrate(url, "up", "0006")
    async with _engine(url) as engine:
        owner, org = await _seed(
            engine, teams=["devs", "ml-ops"], roles=["Deployers", "Ops Leads "]
        )
        before = await _snapshot(engine)
        await _migrate(url, "up", "0007")
        after = await _snapshot(engine)
        trimmed = {k: v.rstrip(" ") for k, v in before["roles"].items()}
        assert after == {**before, "roles": trimmed}
        assert "Ops Leads" in after["roles"].values()
        # Display names, unique ignoring case, in the upgraded database.
        now = datetime.now(UTC)
        async with engine.begin() as conn:
            await conn.execute(
                ORGS.insert().values(
                    id=uuid.uuid4(), name="Production", owner_id=owner, created=now, updated=now
                )
            )
            await conn.execute(
                TEAMS.insert().values(
                    id=uuid.uuid4(),
                    name="Data Science",
                    organization_id=org,
                    created=now,
                    updated=now,
                )
            )
        with pytest.raises(sa.exc.IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(
                    ORGS.insert().values(
                        id=uuid.uuid4(), name="PRODUCTION", owner_id=owner, created=now, updated=now
                    )
                )
        with pytest.raises(sa.exc.IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(
                    ROLES.insert().values(
                        id=uuid.uuid4(),
                        name="deployers",
                        organization_id=org,
                        level="workspace",
                        system_managed=False,
                        created=now,
                        updated=now,
                    )
                )
        upgraded = await _snapshot(engine)
        await engine.dispose()  # SQLite: let alembic's own connection write
        await _migrate(url, "down", "0006")
        assert await _snapshot(engine) == upgraded  # display names kept as they are
        await engine.dispose()
        await _migrate(url, "up", "0007")
        assert await _snapshot(engine) == upgraded


@pytest.mark.parametrize(
    ("roles", "says"),
    [
        (["Deployers", "deployers"], "'deployers'"),
        (["Ops", "ops "], "'ops'"),
        (["organization admin"], "named like a system role: 'organization admin'"),
        (["Workspace Viewer "], "named like a system role"),
    ],
)
async def test_names_clashing_ignoring_case_stop_the_upgrade(
    url: str, roles: list[str], says: str
) -> None:
    await _migrate(url, "up", "0006")
    async with _engine(url) as engine:
        _, org = await _seed(engine, roles=roles)
        before = await _snapshot(engine)
        await engine.dispose()
        with pytest.raises(RuntimeError, match="rename these first") as err:
            await _migrate(url, "up", "0007")
        assert says in str(err.value)
        assert str(org) in str(err.value) or org.hex in str(err.value)
        assert await _snapshot(engine) == before  # nothing changed
        async with engine.connect() as conn:
            version = await conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
        assert version == "0006"
