"""The epoch link (kit/cache.py) failing: answers stay right, requests never hang, and the
caches come back by themselves. PostgreSQL only: SQLite reads the counters in-request."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.authz import machine_token, make_org, make_workspace
from tests.fixtures.db import locked_table
from tests.fixtures.factories import bearer, make_user
from tests.fixtures.roles import WS_VIEWER as VIEWER
from tests.fixtures.waiting import eventually
from zenpro.kit import cache as epoch_cache
from zenpro.kit.cache import EpochCache
from zenpro.models import RoleAssignment, User

pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


@dataclass
class World:
    client: httpx.AsyncClient
    machine: dict[str, str]
    bob: User
    org_id: uuid.UUID
    ws_id: uuid.UUID

    async def may_read_stacks(self) -> bool:
        r = await self.client.post(
            "/rbac/check_permissions",
            params={"user_id": str(self.bob.id), "action": "read"},
            json=["stack"],
            headers=self.machine,
        )
        assert r.status_code == 200, r.text
        return bool(r.json()["stack"])


@pytest.fixture
async def world(app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, alice: User) -> World:
    cache: EpochCache = app.state.cache
    await eventually(lambda: cache.listening)
    org = await make_org(db, alice)
    ws = await make_workspace(db, org)
    bob = await make_user(db, "bob")
    machine = bearer(await machine_token(db, ws))
    await db.commit()
    return World(client, machine, bob, org.id, ws.id)


async def _grant_behind_its_back(db: AsyncSession, world: World) -> None:
    """A write through the ORM (bumps the epoch in its transaction), as another instance
    would make it; this instance's own caches are not told directly."""
    db.add(
        RoleAssignment.grant(
            VIEWER, organization_id=world.org_id, user_id=world.bob.id, workspace_id=world.ws_id
        )
    )
    db.info.pop("cache", None)
    await db.commit()


async def test_a_dropped_link_bypasses_the_caches_then_comes_back(
    app: FastAPI, db: AsyncSession, world: World
) -> None:
    cache: EpochCache = app.state.cache
    assert await world.may_read_stacks() is False
    before = app.state.fastlane_served
    assert await world.may_read_stacks() is False
    served = app.state.fastlane_served
    assert served > before, "the warm answer should come from the caches"

    pid = cache._conn.get_server_pid()
    await db.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    await db.commit()
    await eventually(lambda: not cache.listening or cache._conn.get_server_pid() != pid)
    # While the link is down (or just back), the truth still comes from the database.
    await _grant_behind_its_back(db, world)
    assert await world.may_read_stacks() is True

    await eventually(lambda: cache.listening and cache._conn.get_server_pid() != pid)
    assert await world.may_read_stacks() is True
    assert await world.may_read_stacks() is True
    assert app.state.fastlane_served > served, "caches are used again after the reconnect"


async def test_a_stuck_epoch_read_never_hangs_requests(
    app: FastAPI,
    db: AsyncSession,
    world: World,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(epoch_cache, "READ_TIMEOUT", 0.3)
    cache: EpochCache = app.state.cache
    assert await world.may_read_stacks() is False
    raw = database_url.replace("postgresql+asyncpg://", "postgresql://")
    # Every read of the counters blocks while the table is locked.
    async with locked_table(raw, "cache_epochs"):
        started = time.monotonic()
        answers = await asyncio.wait_for(
            asyncio.gather(*(world.may_read_stacks() for _ in range(5))), timeout=10
        )
        assert answers == [False] * 5
        assert time.monotonic() - started < 5, "requests waited far beyond the read timeout"
    await eventually(lambda: cache.listening)
    served = app.state.fastlane_served
    assert await world.may_read_stacks() is False
    assert await world.may_read_stacks() is False
    assert app.state.fastlane_served > served, "caches are used again once reads succeed"
