"""Member lists are paged in the database: every page size walks the same list, in the same
order, with the same roles, and the total is right (organization members span three kinds:
users, then teams, then invitations)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.authz import assign
from tests.fixtures.factories import make_user
from tests.fixtures.orgs import (
    create_invitation_via_api,
    create_org_via_api,
    create_team_via_api,
    create_ws_via_api,
)
from zenpro.authz.vocabulary import ORG_MEMBER_ID, WORKSPACE_VIEWER_ID
from zenpro.kit.db import utcnow
from zenpro.models import Share, TeamMember


async def _walk(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], limit: int
) -> tuple[list[dict[str, Any]], set[str]]:
    items: list[dict[str, Any]] = []
    totals: set[str] = set()
    offset = 0
    while True:
        r = await client.get(path, params={"offset": offset, "limit": limit}, headers=headers)
        assert r.status_code == 200, r.text
        totals.add(r.headers["X-Total-Count"])
        page = r.json()
        assert len(page) <= limit
        items += page
        if "Link" not in r.headers:
            break
        offset += limit
    return items, totals


async def _same_for_every_page_size(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], expected_total: int
) -> list[dict[str, Any]]:
    whole, totals = await _walk(client, path, headers, 1000)
    assert totals == {str(expected_total)}
    assert len(whole) == expected_total
    for limit in (1, 2, 3, 4):
        paged, totals = await _walk(client, path, headers, limit)
        assert totals == {str(expected_total)}
        assert paged == whole, f"limit={limit}"
    r = await client.get(path, params={"offset": expected_total + 5}, headers=headers)
    assert r.status_code == 200
    assert r.json() == []
    assert r.headers["X-Total-Count"] == str(expected_total)
    return whole


async def test_organization_members_page_across_kinds(
    client: httpx.AsyncClient, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    users = [await make_user(db, f"u{i}") for i in range(3)]
    for u in users:
        await assign(db, ORG_MEMBER_ID, org["id"], user=u)
    teams = [
        await create_team_via_api(client, alice_headers, org["id"], f"team-{i}") for i in range(2)
    ]
    await assign(db, ORG_MEMBER_ID, org["id"], team=teams[1]["id"])
    await db.commit()
    for i in range(2):
        await create_invitation_via_api(client, alice_headers, org["id"], f"guest{i}@example.com")
    whole = await _same_for_every_page_size(
        client, f"/organizations/{org['id']}/members", alice_headers, 1 + 3 + 2 + 2
    )
    assert [m["type"] for m in whole] == ["user"] * 4 + ["team"] * 2 + ["invitation"] * 2
    roles = {m["name"]: [r["name"] for r in m["roles"]] for m in whole}
    assert roles["alice"] == ["Organization Admin"]
    assert roles["u1"] == ["Organization Member"]
    assert roles["team-0"] == []
    assert roles["team-1"] == ["Organization Member"]
    assert roles["guest0@example.com"] == ["Organization Member"]


async def test_workspace_and_team_members_page(
    client: httpx.AsyncClient, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    ws = await create_ws_via_api(client, alice_headers, org["id"], "alpha")
    team = await create_team_via_api(client, alice_headers, org["id"], "devs")
    team_id, ws_id = uuid.UUID(team["id"]), uuid.UUID(ws["id"])
    direct, via_team, sharer = (
        await make_user(db, "dora"),
        await make_user(db, "Tom"),
        await make_user(db, "sam"),
    )
    await assign(db, WORKSPACE_VIEWER_ID, org["id"], user=direct, workspace=ws_id)
    await assign(db, WORKSPACE_VIEWER_ID, org["id"], team=team_id, workspace=ws_id)
    now = utcnow()
    db.add_all(
        [
            TeamMember(team_id=team_id, user_id=u.id, created=now + timedelta(seconds=i))
            for i, u in enumerate((via_team, direct))
        ]
    )
    db.add(Share.grant(ws_id, "stack", uuid.uuid4(), "read", user_id=sharer.id))
    await db.commit()
    whole = await _same_for_every_page_size(
        client, f"/workspaces/{ws['id']}/members", alice_headers, 4
    )
    # By username, character by character (capitals first), on every backend.
    assert [m["name"] for m in whole] == ["Tom", "alice", "dora", "sam"]
    roles = {m["name"]: [r["name"] for r in m["roles"]] for m in whole}
    assert roles == {
        "alice": ["Workspace Admin"],
        "dora": ["Workspace Viewer"],  # direct and through the team: listed once
        "sam": [],
        "Tom": ["Workspace Viewer"],
    }
    members = await _same_for_every_page_size(
        client, f"/teams/{team['id']}/members", alice_headers, 2
    )
    assert [m["user"]["username"] for m in members] == ["Tom", "dora"]
