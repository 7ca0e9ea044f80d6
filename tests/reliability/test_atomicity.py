"""Atomicity: a fault after any statement of a multi-row write leaves nothing half-written.

A cursor event on the app's engine fails the N-th statement of one request (N = 1, 2, …
until the request runs to the end without reaching N), and once more at COMMIT. After
every failed attempt the client got a 503 (never a 2xx, never a 500) and every table
(audit trail and cache epochs included) equals its snapshot from before; the attempt
without a fault then succeeds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.fixtures.factories import bearer, make_user, token_for
from tests.fixtures.orgs import (
    create_invitation_via_api,
    create_org_via_api,
    create_team_via_api,
    create_ws_via_api,
)
from zenpro.models import Base

Snapshot = dict[str, list[tuple[str, ...]]]


class Injected(Exception):
    pass


class Fault:
    """Fail the ``at``-th statement (or the commit, ``at=0``) while armed."""

    def __init__(self) -> None:
        self.at: int | None = None
        self.seen = 0
        self.fired = False

    def statement(self, *_: Any) -> None:
        if self.at is None:
            return
        self.seen += 1
        if self.seen == self.at:
            self._fire()

    def commit(self, *_: Any) -> None:
        if self.at == 0:
            self._fire()

    def _fire(self) -> None:
        self.fired = True
        self.at = None
        raise OperationalError("injected fault", None, Injected())

    @contextmanager
    def armed(self, at: int) -> Iterator[None]:
        self.at, self.seen, self.fired = at, 0, False
        try:
            yield
        finally:
            self.at = None


@contextmanager
def fault_on(engine: AsyncEngine) -> Iterator[Fault]:
    fault = Fault()
    sync = engine.sync_engine
    event.listen(sync, "before_cursor_execute", fault.statement)
    event.listen(sync, "commit", fault.commit)
    try:
        yield fault
    finally:
        event.remove(sync, "before_cursor_execute", fault.statement)
        event.remove(sync, "commit", fault.commit)


async def snapshot(engine: AsyncEngine) -> Snapshot:
    out: Snapshot = {}
    async with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = (await conn.execute(select(table))).all()
            out[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
    return out


async def prove_atomic(
    app: FastAPI, request: Callable[[], Awaitable[httpx.Response]], ok: int = 200
) -> int:
    """Fail each statement in turn, then the commit; return how many statements it has."""
    engine: AsyncEngine = app.state.engine
    before = await snapshot(engine)
    with fault_on(engine) as fault:
        n = 1
        while True:
            with fault.armed(n):
                r = await request()
            if not fault.fired:
                break
            assert r.status_code == 503, (n, r.status_code, r.text)
            assert "Retry-After" in r.headers
            assert await snapshot(engine) == before, f"half-written after statement {n}"
            n += 1
        assert r.status_code == ok, (n, r.text)  # it ran to the end: undo it for the commit
    statements = n - 1
    assert statements >= 3, "the write should take several statements"
    return statements


async def _restore_then_fail_commit(
    app: FastAPI, setup: Callable[[], Awaitable[None]], request: Callable[[], Awaitable[Any]]
) -> None:
    engine: AsyncEngine = app.state.engine
    await setup()
    before = await snapshot(engine)
    with fault_on(engine) as fault, fault.armed(0):
        r = await request()
    assert fault.fired
    assert r.status_code == 503, r.text
    assert await snapshot(engine) == before


async def test_create_organization_is_atomic(
    app: FastAPI, client: httpx.AsyncClient, alice_headers: dict[str, str]
) -> None:
    async def create() -> httpx.Response:
        return await client.post("/organizations", json={"name": "acme"}, headers=alice_headers)

    await _restore_then_fail_commit(app, _noop, create)
    await prove_atomic(app, create, ok=201)
    assert (await client.get("/organizations/acme", headers=alice_headers)).status_code == 200


async def _noop() -> None:
    return None


async def test_accept_invitation_is_atomic(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    team = await create_team_via_api(client, alice_headers, org["id"], "devs")
    invitation = await create_invitation_via_api(
        client, alice_headers, org["id"], "bob@example.com"
    )
    inv = invitation["id"]
    r = await client.post(
        f"/teams/{team['id']}/members", params={"invitation_id": inv}, headers=alice_headers
    )
    assert r.status_code == 200, r.text
    bob = bearer(await token_for(db, await make_user(db, "bob", email="bob@example.com")))

    async def accept() -> httpx.Response:
        return await client.post(f"/invitations/{inv}/accept", headers=bob)

    await _restore_then_fail_commit(app, _noop, accept)
    await prove_atomic(app, accept)
    assert (await client.get(f"/organizations/{org['id']}", headers=bob)).status_code == 200
    r = await client.get(f"/teams/{team['id']}/members", headers=bob)
    assert len(r.json()) == 1


async def test_delete_organization_is_atomic(
    app: FastAPI, client: httpx.AsyncClient, alice_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    await create_team_via_api(client, alice_headers, org["id"], "devs")
    await create_ws_via_api(client, alice_headers, org["id"], "alpha", enroll=True)
    await create_invitation_via_api(client, alice_headers, org["id"], "bob@example.com")

    async def delete() -> httpx.Response:
        return await client.delete(
            f"/organizations/{org['id']}", params={"force": "true"}, headers=alice_headers
        )

    await _restore_then_fail_commit(app, _noop, delete)
    await prove_atomic(app, delete)
    r = await client.get(f"/organizations/{org['id']}", headers=alice_headers)
    assert r.status_code == 404
