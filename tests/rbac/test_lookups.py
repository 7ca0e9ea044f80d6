"""One RBAC answer, two lookups (``kit.lookup``): the routes load through the session and
the caches, the fast lane peeks at the caches only. Same functions, same keys, same rules."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Hashable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.authz import machine_token, viewer_with_a_share
from tests.fixtures.factories import bearer, make_user, token_for
from zenpro.auth import service as auth
from zenpro.auth.principal import Credential, Kind, UserPrincipal
from zenpro.kit.cache import EpochCache
from zenpro.kit.db import utcnow
from zenpro.kit.lookup import Loading, Miss, Peeking
from zenpro.models import User, Workspace
from zenpro.rbac import service as rbac
from zenpro.users.service import me_json


async def _viewer(db: AsyncSession) -> tuple[User, Workspace, dict[str, str]]:
    """A workspace viewer with one share, the workspace, and its machine's headers."""
    me = await make_user(db, "me")
    _org, ws = await viewer_with_a_share(db, me)
    return me, ws, bearer(await machine_token(db, ws))


async def _fresh(app: FastAPI) -> EpochCache:
    cache: EpochCache = app.state.cache
    assert await cache.fresh()
    return cache


async def test_peeking_answers_what_loading_answers_once_warm(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI
) -> None:
    me, ws, _ = await _viewer(db)
    session = await token_for(db, me)
    resources = ["stack", f"stack/{uuid.uuid4()}", f"{uuid.uuid4()}:pipeline"]
    cache = await _fresh(app)
    cache.moved(("auth", "grants"))
    peek = Peeking(cache)
    with pytest.raises(Miss):  # cold: the fast lane must hand over to the route
        await rbac.check_permissions(peek, ws.id, me.id, "read", resources)
    with pytest.raises(Miss):
        await auth.resolve(peek, session)

    async with app.state.sessionmaker() as s:
        load = Loading(s)
        principal = await auth.resolve(load, session)
        checked = await rbac.check_permissions(load, ws.id, me.id, "read", resources)
        allowed = await rbac.allowed_resource_ids(load, ws.id, me.id, "stack", "update")
        assert isinstance(principal, UserPrincipal)
        me_body = await me_json(load, principal)
        await s.commit()

    cache = await _fresh(app)
    assert await auth.resolve(peek, session) == principal
    assert await rbac.check_permissions(peek, ws.id, me.id, "read", resources) == checked
    assert await rbac.allowed_resource_ids(peek, ws.id, me.id, "stack", "update") == allowed
    assert await me_json(peek, principal) == me_body
    assert set(checked) == set(resources)


async def test_the_fast_lane_serves_what_the_route_served(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI
) -> None:
    me, _, machine = await _viewer(db)
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/rbac/check_permissions", {"json": ["stack", f"stack/{uuid.uuid4()}"]}),
        ("GET", "/rbac/allowed_resource_ids", {"params": {"resource": "stack"}}),
    ]
    for method, path, kwargs in calls:
        params = {"user_id": str(me.id), "action": "read", **kwargs.pop("params", {})}
        first = await client.request(method, path, params=params, headers=machine, **kwargs)
        served = app.state.fastlane_served
        again = await client.request(method, path, params=params, headers=machine, **kwargs)
        assert app.state.fastlane_served == served + 1, path
        assert (first.status_code, first.json()) == (again.status_code, again.json())


async def test_the_resource_limit_is_the_routes(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI
) -> None:
    me, _, machine = await _viewer(db)
    params = {"user_id": str(me.id), "action": "read"}
    path = "/rbac/check_permissions"
    await client.post(path, params=params, json=["stack"], headers=machine)  # warm
    served = app.state.fastlane_served
    at_limit = ["stack"] * rbac.MAX_RESOURCES
    r = await client.post(path, params=params, json=at_limit, headers=machine)
    assert r.status_code == 200
    assert app.state.fastlane_served == served + 1
    r = await client.post(path, params=params, json=[*at_limit, "stack"], headers=machine)
    assert r.status_code == 422  # the route's answer: the fast lane stood aside
    assert app.state.fastlane_served == served + 1


class Stub:
    """A lookup that finds one cached credential and records any database work asked."""

    def __init__(self, entry: object) -> None:
        self.entry = entry
        self.work: list[str] = []

    async def get(self, epoch: str, key: Hashable, load: Callable[[Any], Awaitable[Any]]) -> Any:
        return self.entry

    async def run(self, work: Callable[[Any], Awaitable[Any]]) -> Any:
        self.work.append(getattr(work, "func", work).__name__)
        raise Miss("database")


def _entry(*, last_used: timedelta, idle: timedelta | None, expires: timedelta) -> Any:
    now = utcnow()
    principal = UserPrincipal(kind=Kind.user, credential=Credential.session, user_id=uuid.uuid4())
    return auth._Cached(principal, now + expires, idle, now - last_used, uuid.uuid4(), is_key=False)


@pytest.mark.parametrize(
    ("last_used", "idle", "expires", "work"),
    [
        (timedelta(seconds=5), timedelta(minutes=60), timedelta(hours=1), []),
        (timedelta(seconds=5), None, timedelta(hours=1), []),
        (timedelta(seconds=90), timedelta(minutes=60), timedelta(hours=1), ["_touch"]),
        # The idle check is part of the one validity check: a cached credential idle past
        # its window is never served from the cache, whether its touch is due or not.
        (timedelta(seconds=30), timedelta(seconds=20), timedelta(hours=1), ["load"]),
        (timedelta(minutes=61), timedelta(minutes=60), timedelta(hours=1), ["load"]),
        (timedelta(seconds=5), None, timedelta(seconds=-1), ["load"]),
    ],
)
async def test_one_validity_check_for_every_lookup(
    last_used: timedelta, idle: timedelta | None, expires: timedelta, work: list[str]
) -> None:
    entry = _entry(last_used=last_used, idle=idle, expires=expires)
    stub = Stub(entry)
    if work:
        with pytest.raises(Miss):
            await auth.resolve(stub, "zps_whatever")
    else:
        assert await auth.resolve(stub, "zps_whatever") is entry.principal
    assert stub.work == work


async def test_the_limiters_cache_check_is_the_same_check() -> None:
    cache = EpochCache()
    cache.epochs["auth"] = 0
    idle = _entry(
        last_used=timedelta(seconds=30), idle=timedelta(seconds=20), expires=timedelta(hours=1)
    )
    live = _entry(
        last_used=timedelta(seconds=5), idle=timedelta(minutes=5), expires=timedelta(hours=1)
    )
    seen: list[Hashable] = []

    class Recording(Loading):
        async def get(self, epoch: str, key: Hashable, load: Any) -> Any:
            seen.append(key)
            raise Miss(epoch)

    for raw, entry in (("idle-token", idle), ("live-token", live)):
        with pytest.raises(Miss):
            await auth.resolve(Recording(None), raw)  # type: ignore[arg-type]
        cache.put("auth", seen[-1], entry, 0)
    assert await auth.cached_principal(cache, "idle-token") is None
    assert await auth.cached_principal(cache, "live-token") is live.principal
