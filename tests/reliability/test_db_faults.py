"""Database faults against a real ``zenpro serve`` on a PostgreSQL cluster of our own.

- backends killed (``pg_terminate_backend``) under in-flight and idle connections → 503 +
  Retry-After, then recovery without a restart;
- PostgreSQL restarted (fast, and crash-style immediate) under a stream of writes → only
  201 or 503 + Retry-After, recovery, and every acknowledged write is there afterwards;
- pool exhaustion (requests stuck behind a lock) → a bounded 503 for the others.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.fixtures.db import locked_table
from tests.fixtures.waiting import eventually
from tests.reliability.servers import OwnPostgres, logged_in_server, own_postgres
from tests.support.processes import ZenproServer


@pytest.fixture(scope="module")
def pg() -> Iterator[OwnPostgres]:
    with own_postgres() as cluster:
        yield cluster


@pytest.fixture(scope="module")
def server(pg: OwnPostgres) -> Iterator[ZenproServer]:
    with logged_in_server(pg.url, ZENPRO_DB_POOL_SIZE="4", ZENPRO_DB_POOL_TIMEOUT="1") as srv:
        yield srv


@pytest.fixture
async def http(server: ZenproServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=server.url, headers=server.headers(), timeout=30
    ) as client:
        yield client


def _ok_or_503(r: httpx.Response) -> None:
    assert r.status_code < 500 or r.status_code == 503, r.text
    if r.status_code == 503:
        assert r.headers.get("Retry-After", "").isdigit(), r.headers
        assert "Traceback" not in r.text
        assert "unavailable" in r.text.lower()


async def _recovers(http: httpx.AsyncClient, path: str = "/organizations") -> None:
    """Within a few seconds, 20 requests in a row succeed (no restart of zenpro)."""
    deadline = time.monotonic() + 20
    streak = 0
    while streak < 20:
        assert time.monotonic() < deadline, "zenpro did not recover"
        r = await http.get(path)
        _ok_or_503(r)
        streak = streak + 1 if r.status_code == 200 else 0
        if r.status_code != 200:
            await asyncio.sleep(0.1)


async def _zenpro_backends(conn: asyncpg.Connection, waiting: bool = False) -> list[int]:
    rows = await conn.fetch(
        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' "
        "AND pid <> pg_backend_pid() AND datname = current_database() "
        "AND ($1 = false OR wait_event_type = 'Lock')",
        waiting,
    )
    return [int(r["pid"]) for r in rows]


async def _wait_for(conn: asyncpg.Connection, n: int) -> list[int]:
    for _ in range(100):
        pids = await _zenpro_backends(conn, waiting=True)
        if len(pids) >= n:
            return pids
        await asyncio.sleep(0.05)
    rows = await conn.fetch(
        "SELECT pid, wait_event_type, state, left(query, 40) q FROM pg_stat_activity"
    )
    raise AssertionError(f"the requests never reached the database: {[dict(r) for r in rows]}")


async def test_backends_killed_mid_request(pg: OwnPostgres, http: httpx.AsyncClient) -> None:
    await _recovers(http)
    # Hold the requests inside PostgreSQL (behind a lock), then kill their backends.
    async with locked_table(pg.dsn, "organizations") as conn:
        inflight = [asyncio.create_task(http.get("/organizations")) for _ in range(3)]
        # At least one reaches the lock; concurrent cache misses share one load
        # (kit.cache.load_once), so the others may wait for it inside zenpro.
        pids = await _wait_for(conn, 1)
        started = time.monotonic()
        for pid in pids:
            await conn.execute("SELECT pg_terminate_backend($1)", pid)
    responses = await asyncio.wait_for(asyncio.gather(*inflight), timeout=15)
    assert time.monotonic() - started < 10, "in-flight requests hung"
    for r in responses:
        _ok_or_503(r)
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(503) == len(pids), statuses
    assert set(statuses) <= {200, 503}, statuses
    await _recovers(http)
    # Idle pooled connections killed: no pre-ping, so each dead one costs one 503.
    conn = await asyncpg.connect(pg.dsn)
    try:
        idle = await _zenpro_backends(conn)
        assert idle, "no pooled connection to kill"
        for pid in idle:
            await conn.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await conn.close()
    statuses = []
    for _ in range(8):
        r = await http.get("/organizations")
        _ok_or_503(r)
        statuses.append(r.status_code)
    # The first request meets a dead connection; at most the pool size (4) do.
    assert 1 <= statuses.count(503) <= 4, statuses
    await _recovers(http)


async def _writer(
    http: httpx.AsyncClient, org_id: str, tag: str, stop: asyncio.Event, acked: list[str]
) -> list[int]:
    statuses: list[int] = []
    i = 0
    while not stop.is_set():
        name = f"{tag}-{i}"
        i += 1
        try:
            r = await http.post("/teams", json={"name": name, "organization_id": org_id})
        except httpx.HTTPError as exc:  # the server itself must never drop us
            raise AssertionError(f"transport error: {exc!r}") from exc
        _ok_or_503(r)
        statuses.append(r.status_code)
        if r.status_code == 201:
            acked.append(name)
        else:
            assert r.status_code == 503, r.text
            await asyncio.sleep(0.05)
    return statuses


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_restart_under_writes_keeps_every_acknowledged_write(
    pg: OwnPostgres, http: httpx.AsyncClient, mode: str
) -> None:
    await _recovers(http)
    r = await http.post("/organizations", json={"name": f"restart-{mode}"})
    assert r.status_code == 201, r.text
    org_id = r.json()["id"]
    stop = asyncio.Event()
    acked: list[str] = []
    writers = [asyncio.create_task(_writer(http, org_id, f"w{k}", stop, acked)) for k in range(6)]
    await eventually(lambda: len(acked) >= 10, seconds=20, what="writes before the restart")
    await asyncio.to_thread(pg.stop, mode)
    await asyncio.sleep(1)  # writes fail while the server is down
    await asyncio.to_thread(pg.start)
    after_start = len(acked)
    await eventually(lambda: len(acked) > after_start + 5, seconds=30, what="writes after it")
    stop.set()
    statuses = [s for w in await asyncio.gather(*writers) for s in w]
    assert 503 in statuses
    assert set(statuses) <= {201, 503}
    await _recovers(http)
    present = await _team_names(pg, org_id)
    missing = sorted(set(acked) - present)
    assert not missing, f"acknowledged but lost: {missing}"


async def _team_names(pg: OwnPostgres, org_id: str) -> set[str]:
    conn = await asyncpg.connect(pg.dsn)
    try:
        rows = await conn.fetch("SELECT name FROM teams WHERE organization_id = $1::uuid", org_id)
    finally:
        await conn.close()
    return {str(r["name"]) for r in rows}


async def test_pool_exhaustion_is_a_bounded_503(pg: OwnPostgres, http: httpx.AsyncClient) -> None:
    await _recovers(http)
    async with locked_table(pg.dsn, "organizations") as conn:
        # Four requests take the whole pool (size 4) and wait on the lock...
        stuck = [asyncio.create_task(http.get("/organizations")) for _ in range(4)]
        await _wait_for(conn, 4)
        # ...so the next ones wait for a connection for pool_timeout (1 s), then 503.
        started = time.monotonic()
        others: list[Any] = await asyncio.gather(*(http.get("/users") for _ in range(6)))
        elapsed = time.monotonic() - started
        for r in others:
            _ok_or_503(r)
        assert [r.status_code for r in others] == [503] * 6
        assert elapsed < 5, f"waited {elapsed:.1f}s"
    done = await asyncio.wait_for(asyncio.gather(*stuck), timeout=15)
    assert [r.status_code for r in done] == [200] * 4
    await _recovers(http)
