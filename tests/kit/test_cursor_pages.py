"""Cursor pages: on every list, walking ``Link: rel="next"`` gives exactly the list that
offsets give, in the same order, whatever the page size; a cursor survives rows inserted
before it; ``X-Total-Count`` is exact up to the cap and absent above it; a cursor the list
did not give out is a 404 that says what to do, never a 500."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.factories import make_user
from tests.fixtures.lists import World, grow, make_world, next_link
from zenpro.kit import pagination


async def _by_offset(client: httpx.AsyncClient, world: World, path: str) -> list[Any]:
    r = await client.get(path, params={"limit": 1000}, headers=world.headers)
    assert r.status_code == 200, r.text
    assert "link" not in r.headers
    return list(r.json())


async def _by_cursor(
    client: httpx.AsyncClient, world: World, path: str, limit: int
) -> tuple[list[Any], set[str]]:
    items: list[Any] = []
    totals = set()
    url: str | None = f"{path}?limit={limit}"
    while url is not None:
        r = await client.get(url, headers=world.headers)
        assert r.status_code == 200, (url, r.text)
        assert len(r.json()) <= limit
        totals.add(r.headers.get("x-total-count", "absent"))
        items += r.json()
        url = next_link(r)
    return items, totals


async def test_cursor_walks_equal_offset_walks_on_every_list(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    world = await make_world(client, db)
    await grow(client, db, world, 3)
    for template, path in world.paths().items():
        whole = await _by_offset(client, world, path)
        assert len(whole) >= 3, (template, whole)
        for limit in (1, 2, 3):
            walked, totals = await _by_cursor(client, world, path, limit)
            assert walked == whole, (template, limit)
            assert totals == {str(len(whole))}, (template, limit, totals)


async def test_a_cursor_holds_its_place_when_rows_are_added(
    client: httpx.AsyncClient, db: AsyncSession, admin_headers: dict[str, str]
) -> None:
    for i in range(4):
        await make_user(db, f"early{i}")
    first = await client.get("/users", params={"limit": 2}, headers=admin_headers)
    nxt = next_link(first)
    assert nxt is not None
    for i in range(3):
        await make_user(db, f"late{i}")  # after everyone: at the end of the list
    second = await client.get(nxt, headers=admin_headers)
    names = [u["username"] for u in second.json()]
    assert names == ["early1", "early2"]  # the admin came first, then early0
    # offset after a cursor skips further, across the page's end alike
    skip = await client.get(nxt + "&offset=3", headers=admin_headers)
    assert [u["username"] for u in skip.json()] == ["late0", "late1"]


async def test_the_total_is_exact_up_to_the_cap_and_absent_above(
    client: httpx.AsyncClient,
    db: AsyncSession,
    admin_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for i in range(5):
        await make_user(db, f"u{i}")
    monkeypatch.setattr(pagination, "COUNT_CAP", 6)
    r = await client.get("/users", params={"limit": 2}, headers=admin_headers)
    assert r.headers["x-total-count"] == "6"
    await make_user(db, "u5")
    r = await client.get("/users", params={"limit": 2}, headers=admin_headers)
    assert "x-total-count" not in r.headers
    assert next_link(r) is not None
    # offsets beyond the cap still land where they should
    r = await client.get("/users", params={"offset": 6}, headers=admin_headers)
    assert [u["username"] for u in r.json()] == ["u5"]
    r = await client.get("/users", params={"offset": 7}, headers=admin_headers)
    assert r.json() == []


async def test_the_member_cursor_crosses_kinds_beyond_the_cap(
    client: httpx.AsyncClient, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await make_world(client, db)
    await grow(client, db, world, 3)
    path = f"/organizations/{world.org.id}/members"
    whole = await _by_offset(client, world, path)
    monkeypatch.setattr(pagination, "COUNT_CAP", 2)
    walked, totals = await _by_cursor(client, world, path, 2)
    assert walked == whole
    assert totals == {"absent"}
    by_offset = []
    for offset in range(0, len(whole), 3):
        r = await client.get(path, params={"offset": offset, "limit": 3}, headers=world.headers)
        by_offset += r.json()
    assert by_offset == whole


def _forge(data: Any) -> str:
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8", "surrogatepass"
    )
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def test_a_cursor_this_list_did_not_give_is_a_404(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI
) -> None:
    world = await make_world(client, db)
    await grow(client, db, world, 2)
    users = await client.get("/users?limit=1", headers=world.headers)
    from_users = next_link(users)
    assert from_users is not None
    cursor = httpx.URL(from_users).params["cursor"]
    fp, section, *values = json.loads(base64.urlsafe_b64decode(cursor + "=="))
    bad = [
        "x",
        "AAAA",
        _forge({"not": "a list"}),
        _forge([fp, 7, *values]),  # no such section
        _forge([fp, section, ["s", "alice"], values[1]]),  # a name where a time goes
        _forge([fp, section, ["d", "not a time"], values[1]]),
        _forge(
            [fp, section, ["d", "0001-01-01T00:00:00+14:00"], values[1]]
        ),  # before year 1 in UTC
        _forge([fp, section, values[0], ["u", "xyz"]]),
        _forge([fp, section, values[0]]),  # a key short
        base64.urlsafe_b64encode(b"\xff\xfe").decode().rstrip("="),
        base64.urlsafe_b64encode(b"[" * 1500).decode().rstrip("="),  # deeper than json goes
    ]
    ws_members = f"/workspaces/{world.ws_id}/members"
    for path, c in [("/users", b) for b in bad] + [(ws_members, cursor), ("/audit_events", cursor)]:
        r = await client.get(path, params={"cursor": c}, headers=world.headers)
        assert r.status_code == 404, (path, c, r.status_code, r.text)
        assert "cursor" in r.json()["detail"][1]
    names = await client.get(ws_members, params={"limit": 1}, headers=world.headers)
    by_name = next_link(names)
    assert by_name is not None
    fp, section, _name, ident = json.loads(
        base64.urlsafe_b64decode(httpx.URL(by_name).params["cursor"] + "==")
    )
    for odd in ("\x00", "\ud800", "é" * 255, "\U0001f600" * 255):
        forged = _forge([fp, section, ["s", odd], ident])
        r = await client.get(ws_members, params={"cursor": forged}, headers=world.headers)
        assert r.status_code in (200, 404), (odd, r.status_code, r.text)
    r = await client.get("/users", params={"cursor": "not base64!"}, headers=world.headers)
    assert r.status_code == 422  # the published pattern
    assert app.openapi()["paths"]["/users"]["get"]["responses"]["404"]
