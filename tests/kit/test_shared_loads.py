"""Concurrent cache misses of one key share one load (kit.cache.EpochCache.load_once)."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.authz import machine_token, viewer_with_a_share
from tests.fixtures.factories import bearer, make_user
from tests.fixtures.statements import counting
from tests.fixtures.waiting import eventually
from zenpro.kit.cache import GRANTS, EpochCache


class Loader:
    def __init__(self, value: object = "v", fail: bool = False) -> None:
        self.calls = 0
        self.value, self.fail = value, fail
        self.gate = asyncio.Event()

    async def __call__(self) -> object:
        self.calls += 1
        await self.gate.wait()
        if self.fail:
            raise RuntimeError(f"load {self.calls} failed")
        return self.value


async def test_concurrent_misses_share_one_load_and_store_it() -> None:
    cache = EpochCache()
    load = Loader(value=("grants", 1))
    seen = cache.epochs.get(GRANTS, 0)
    cache.epochs[GRANTS] = seen
    tasks = [asyncio.create_task(cache.load_once(GRANTS, "k", seen, load)) for _ in range(20)]
    await asyncio.sleep(0)
    load.gate.set()
    results = await asyncio.gather(*tasks)
    assert load.calls == 1
    assert results == [("grants", 1)] * 20
    assert cache.get(GRANTS, "k") == ("grants", 1)


async def test_loads_under_different_epochs_or_keys_are_not_shared() -> None:
    cache = EpochCache()
    cache.epochs[GRANTS] = 3
    current, old = Loader(value="current"), Loader(value="old")
    current.gate.set()
    old.gate.set()
    results = await asyncio.gather(
        cache.load_once(GRANTS, "k", 3, current),
        cache.load_once(GRANTS, "k", 2, old),  # began under an older epoch
        cache.load_once(GRANTS, "other", 3, current),
    )
    assert results == ["current", "old", "current"]
    assert (current.calls, old.calls) == (2, 1)
    # The load made under the older epoch returned its value but was never stored.
    assert cache.get(GRANTS, "k") == "current"


async def test_a_failed_shared_load_lets_each_waiter_load_on_its_own() -> None:
    cache = EpochCache()
    load = Loader(fail=True)
    tasks = [asyncio.create_task(cache.load_once(GRANTS, "k", 0, load)) for _ in range(5)]
    await asyncio.sleep(0)
    load.gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert load.calls == 5  # the first load, then one per waiter
    assert all(isinstance(r, RuntimeError) for r in results)
    assert cache.get(GRANTS, "k") is None
    assert not cache._flights


async def test_a_cancelled_shared_load_is_taken_over_by_a_waiter() -> None:
    """A workspace server that gives up must not leave the others to stampede."""
    cache = EpochCache()
    cache.epochs[GRANTS] = 0
    load = Loader(value="v")
    leader = asyncio.create_task(cache.load_once(GRANTS, "k", 0, load))
    await asyncio.sleep(0)
    waiters = [asyncio.create_task(cache.load_once(GRANTS, "k", 0, load)) for _ in range(5)]
    await asyncio.sleep(0)
    leader.cancel()
    # One waiter takes over the load; the others wait for it.
    await eventually(lambda: load.calls == 2, seconds=2, what="a waiter took over")
    load.gate.set()
    assert await asyncio.gather(*waiters) == ["v"] * 5
    assert leader.cancelled()
    assert load.calls == 2
    assert cache.get(GRANTS, "k") == "v"
    assert not cache._flights


async def test_a_burst_of_cold_checks_loads_grants_once(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI
) -> None:
    me = await make_user(db, "me")
    _, ws = await viewer_with_a_share(db, me)
    machine = bearer(await machine_token(db, ws))
    await db.commit()

    async def check() -> bool:
        r = await client.post(
            "/rbac/check_permissions",
            params={"user_id": str(me.id), "action": "read"},
            json=["stack", f"stack/{uuid.uuid4()}"],
            headers=machine,
        )
        assert r.status_code == 200, r.text
        return bool(r.json()["stack"])

    assert await check() is True  # the machine credential is cached from here on
    app.state.cache.moved((GRANTS,))  # every grants entry gone, as after any role change
    with counting(app) as statements:
        assert await asyncio.gather(*(check() for _ in range(16))) == [True] * 16
    grant_loads = [s for s in statements if "role_assignments" in s and "UNION" in s.upper()]
    share_loads = [s for s in statements if s.startswith("SELECT shares.")]
    others = [s for s in statements if "cache_epochs" not in s]
    assert len(grant_loads) == 1, others
    assert len(share_loads) == 1, others
