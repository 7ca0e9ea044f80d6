"""No N+1: SQL statements per request on the hot endpoints do not grow with the data.

Counted on a cold cache (every cache emptied first) with a small dataset, then again after
the dataset — including the caller's own assignments, teams and shares — has grown many
times over. Warm, the workspace hot paths cost no statement on PostgreSQL (invalidation is
pushed) and one (the epoch read) on SQLite.
"""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.authz import (
    assign,
    machine_token,
    make_org,
    make_team,
    make_workspace,
    share,
    viewer_with_a_share,
)
from tests.fixtures.factories import PASSWORD, bearer, make_user, token_for
from tests.fixtures.roles import ORG_MEMBER as MEMBER
from tests.fixtures.roles import WS_VIEWER as VIEWER
from tests.fixtures.statements import counting
from zenpro.models import User, Workspace


async def _grow(db: AsyncSession, me: User, ws: Workspace, times: int) -> None:
    """More of everything: other users, orgs, workspaces, assignments, teams and shares,
    and more grants for the caller too."""
    for _ in range(times):
        other = await make_user(db)
        org = await make_org(db, other)
        wss = [await make_workspace(db, org) for _ in range(3)]
        for w in wss:
            await assign(db, VIEWER, org, user=other, workspace=w)
            await assign(db, VIEWER, org, user=me, workspace=w)
            await share(db, w, other, "stack", uuid.uuid4(), "read")
        await assign(db, MEMBER, org, user=me)
        await make_team(db, org, me, other)
        await share(db, ws, me, "stack", uuid.uuid4(), "read")


async def _counts(
    client: httpx.AsyncClient, app: FastAPI, calls: list[tuple[str, str, dict[str, object]]]
) -> list[int]:
    out = []
    for method, path, kwargs in calls:
        app.state.cache.moved(("auth", "grants"))  # cold: every cache empty
        with counting(app) as statements:
            r = await client.request(method, path, **kwargs)  # type: ignore[arg-type]
        assert r.status_code == 200, (path, r.status_code, r.text)
        out.append(len(statements))
    return out


async def test_statements_per_request_do_not_grow(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI
) -> None:
    me = await make_user(db, "me")
    org, ws = await viewer_with_a_share(db, me)
    session = bearer(await token_for(db, me))
    pat = bearer(
        (await client.post("/users/me/api_keys", json={"name": "k"}, headers=session)).json()["key"]
    )
    machine = bearer(await machine_token(db, ws))
    check = f"/rbac/check_permissions?user_id={me.id}&action=read"
    ten = [f"stack/{uuid.uuid4()}" for _ in range(9)] + ["stack"]
    calls: list[tuple[str, str, dict[str, object]]] = [
        ("GET", "/users/me", {"headers": session}),
        ("GET", "/users/me", {"headers": pat}),
        ("POST", check, {"headers": machine, "json": ["stack"]}),
        ("POST", check, {"headers": machine, "json": ten}),
        (
            "GET",
            f"/rbac/allowed_resource_ids?user_id={me.id}&resource=stack&action=read",
            {"headers": machine},
        ),
        ("GET", "/workspaces?member_only=True&limit=20", {"headers": session}),
        ("GET", f"/organizations/{org.id}/members", {"headers": session}),
        ("POST", "/auth/login", {"data": {"username": "me", "password": PASSWORD}}),
    ]
    await _counts(client, app, calls)  # first uses write last_used once; not what we count
    small = await _counts(client, app, calls)
    await _grow(db, me, ws, times=8)
    large = await _counts(client, app, calls)
    assert large == small, list(zip([c[1] for c in calls], small, large, strict=True))
    assert max(small) <= 12, small


async def test_warm_hot_paths_cost_at_most_the_epoch_read(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI
) -> None:
    me = await make_user(db, "me")
    org = await make_org(db, me)
    ws = await make_workspace(db, org)
    await assign(db, VIEWER, org, user=me, workspace=ws)
    session = bearer(await token_for(db, me))
    machine = bearer(await machine_token(db, ws))
    hot = [
        ("GET", "/users/me", {"headers": session}),
        (
            "POST",
            f"/rbac/check_permissions?user_id={me.id}&action=read",
            {"headers": machine, "json": ["stack", f"stack/{uuid.uuid4()}"]},
        ),
        (
            "GET",
            f"/rbac/allowed_resource_ids?user_id={me.id}&resource=stack&action=read",
            {"headers": machine},
        ),
    ]
    for method, path, kwargs in hot:
        await client.request(method, path, **kwargs)  # type: ignore[arg-type]  # warm up
        with counting(app) as statements:
            r = await client.request(method, path, **kwargs)  # type: ignore[arg-type]
        assert r.status_code == 200
        expected = 0 if app.state.cache.push else 1
        assert len(statements) == expected, (path, statements)
