"""No N+1 on any list: the SQL statements a page costs do not grow with the data, on the
first page and on a page reached by its cursor (``Link: rel="next"``), for every list
endpoint the API publishes (the test fails if a new list is not covered)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.lists import World, grow, make_world, next_link, paged_lists
from tests.fixtures.statements import counting


async def _costs(client: httpx.AsyncClient, app: FastAPI, world: World) -> dict[str, list[int]]:
    """Per list: statements for page 1 (limit 2), then for the page its cursor names."""
    out = {}
    for template, path in world.paths().items():
        costs = []
        url: str | None = f"{path}?limit=2"
        for _ in range(2):
            assert url is not None, (template, "no next page")
            app.state.cache.moved(("auth", "grants"))  # cold: every cache empty
            with counting(app) as statements:
                r = await client.get(url, headers=world.headers)
            assert r.status_code == 200, (url, r.status_code, r.text)
            assert len(r.json()) == 2, (url, r.json())
            costs.append(len(statements))
            url = next_link(r)
        out[template] = costs
    return out


async def test_every_list_costs_the_same_with_more_data(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI
) -> None:
    world = await make_world(client, db)
    assert set(world.paths()) == paged_lists(app), "a list endpoint this test does not walk"
    await grow(client, db, world, 5)
    await _costs(client, app, world)  # first reads may write (last_used); not what we count
    small = await _costs(client, app, world)
    await grow(client, db, world, 12)
    large = await _costs(client, app, world)
    grew = {t: (small[t], large[t]) for t in small if small[t] != large[t]}
    assert not grew, grew
    assert max(max(c) for c in small.values()) <= 12, sorted(
        small.items(), key=lambda kv: -max(kv[1])
    )
