"""No console page costs more than 10 SQL statements, whatever the data size (issue 16:
the statement-counting fixture, with cold caches), and the count does not grow with it."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.console.support import ORG_VIEWER_ID, Person, person, read_one
from tests.console.test_pages import _org, ann
from tests.fixtures.authz import assign
from tests.fixtures.statements import counting
from zenpro.models import Organization

__all__ = ["ann"]  # the fixture
BUDGET = 10


async def _grow(
    ann: Person, client: httpx.AsyncClient, db: AsyncSession, org_id: str, n: int, team: str
) -> None:
    base = f"/console/organizations/{org_id}"
    org = await read_one(db, select(Organization).where(Organization.id == uuid.UUID(org_id)))
    for i in range(n):
        await ann.post(f"{base}/workspaces", {"name": f"ws-{n}-{i}"})
        await ann.post(f"{base}/invitations", {"email": f"p{n}-{i}@example.com"})
        other = await person(client, db, f"m{n}{i}")
        await assign(db, ORG_VIEWER_ID, org, user=other.user)
        added = await ann.post(f"{team}/members/add", {"user_id": str(other.user.id)})
        assert added.status_code == 303
        await ann.post(f"{base}/teams", {"name": f"team-{n}-{i}"})
        await ann.post(f"{base}/service_accounts", {"name": f"bot-{n}-{i}"})


async def _pages(ann: Person, org_id: str, ws_path: str) -> list[str]:
    base = f"/console/organizations/{org_id}"
    team = (await ann.post(f"{base}/teams", {"name": "Crew"})).headers["location"]
    bot = (await ann.post(f"{base}/service_accounts", {"name": "bot"})).headers["location"]
    made = await ann.post(
        f"{base}/roles", {"level": "workspace", "name": "Ops", "p.stack.read": "on"}
    )
    role = made.headers["location"].split("?")[0]
    return [
        f"{base}/teams",
        team.split("?")[0],
        f"{base}/invitations/new",
        f"{base}/service_accounts",
        bot.split("?")[0],
        "/console",
        base,
        f"{base}/settings",
        f"{base}/members",
        f"{base}/roles",
        f"{base}/audit",
        f"{base}/workspaces/new",
        ws_path,
        "/console/account",
        "/console/organizations/new",
        role,
        f"{base}/roles/new",
        f"{base}/assignments/new",
        f"{team.split('?')[0]}/roles",
        f"{base}/members/{ann.user.id}",
    ]


async def _counts(app: FastAPI, ann: Person, paths: list[str]) -> dict[str, int]:
    out = {}
    for path in paths:
        app.state.cache.moved(("auth", "grants"))  # cold: every cache empty
        with counting(app) as statements:
            r = await ann.get(path)
        assert r.status_code == 200, (path, r.status_code)
        out[path] = len(statements)
    return out


async def test_console_pages_cost_a_bounded_number_of_statements(
    ann: Person, client: httpx.AsyncClient, db: AsyncSession, app: FastAPI
) -> None:
    org_id = await _org(ann)
    made = await ann.post(f"/console/organizations/{org_id}/workspaces", {"name": "ws-first"})
    paths = await _pages(ann, org_id, made.headers["location"].split("?")[0])
    await _grow(ann, client, db, org_id, 1, paths[1])
    small = await _counts(app, ann, paths)
    await _grow(ann, client, db, org_id, 30, paths[1])
    large = await _counts(app, ann, paths)
    grown = {p: (small[p], large[p]) for p in paths if large[p] > small[p]}
    assert not grown, grown
    over = {p: n for p, n in large.items() if n > BUDGET}
    assert not over, over
