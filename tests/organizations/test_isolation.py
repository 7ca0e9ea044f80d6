"""A user of organization A never sees organization B: 404 on every id route, and B's
objects never appear in A's lists."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.factories import bearer, make_user, token_for
from tests.fixtures.orgs import (
    create_invitation_via_api,
    create_org_via_api,
    create_team_via_api,
    create_ws_via_api,
)


async def _world(
    client: httpx.AsyncClient, db: AsyncSession
) -> tuple[dict[str, str], dict[str, str], dict[str, Any]]:
    a_h = bearer(await token_for(db, await make_user(db, "anna")))
    b_h = bearer(await token_for(db, await make_user(db, "bert")))
    await create_org_via_api(client, a_h, "org-a")
    org = await create_org_via_api(client, b_h, "org-b")
    ws = await create_ws_via_api(client, b_h, org["id"], "ws-b")
    team = await create_team_via_api(client, b_h, org["id"], "team-b")
    inv = await create_invitation_via_api(client, b_h, org["id"], "anna@example.com")
    bert_id = org["owner"]["id"]
    return a_h, b_h, {"org": org, "ws": ws, "team": team, "inv": inv, "bert": bert_id}


async def test_stranger_gets_404_everywhere(client: httpx.AsyncClient, db: AsyncSession) -> None:
    a_h, b_h, w = await _world(client, db)
    o, ws, t, inv = w["org"]["id"], w["ws"]["id"], w["team"]["id"], w["inv"]["id"]
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", f"/organizations/{o}", {}),
        ("GET", "/organizations/org-b", {}),
        ("PATCH", f"/organizations/{o}", {"json": {"description": "x"}}),
        ("DELETE", f"/organizations/{o}", {"params": {"force": "true"}}),
        ("GET", f"/organizations/{o}/members", {}),
        ("DELETE", f"/organizations/{o}/members", {"params": {"user_id": w["bert"]}}),
        ("GET", f"/organizations/{o}/invitations", {}),
        ("POST", f"/organizations/{o}/invitations", {"json": {"email": "z@example.com"}}),
        ("DELETE", f"/organizations/{o}/invitations/{inv}", {}),
        ("GET", f"/organizations/{o}/teams", {}),
        ("GET", f"/organizations/{o}/workspaces", {}),
        ("GET", f"/organizations/{o}/tenants", {}),
        ("POST", "/workspaces", {"json": {"name": "sneaky", "organization_id": o}}),
        ("POST", "/teams", {"json": {"name": "sneaky", "organization_id": o}}),
        ("GET", "/invitations/" + str(uuid.uuid4()), {}),
    ]
    for prefix in ("workspaces", "tenants"):
        calls += [
            ("GET", f"/{prefix}/{ws}", {}),
            ("GET", f"/{prefix}/ws-b", {}),
            ("PATCH", f"/{prefix}/{ws}", {"json": {"description": "x"}}),
            ("DELETE", f"/{prefix}/{ws}", {}),
            ("GET", f"/{prefix}/{ws}/members", {}),
            ("POST", f"/{prefix}/{ws}/enrollment_key", {}),
        ]
    calls += [
        ("GET", f"/teams/{t}", {}),
        ("PATCH", f"/teams/{t}", {"json": {"description": "x"}}),
        ("DELETE", f"/teams/{t}", {}),
        ("GET", f"/teams/{t}/members", {}),
        ("POST", f"/teams/{t}/members", {"params": {"user_id": w["bert"]}}),
        ("DELETE", f"/teams/{t}/members", {"params": {"user_id": w["bert"]}}),
    ]
    for method, url, kwargs in calls:
        r = await client.request(method, url, headers=a_h, **kwargs)
        assert r.status_code == 404, (method, url, r.status_code, r.text)
        assert r.json()["detail"][0] == "KeyError"
        r = await client.request(method, url, **kwargs)
        assert r.status_code == 401, (method, url)
    # B's objects survived all of that.
    assert (await client.get(f"/workspaces/{ws}", headers=b_h)).json()["status"] == "pending"
    assert (await client.get(f"/teams/{t}", headers=b_h)).status_code == 200


async def test_lists_never_leak(client: httpx.AsyncClient, db: AsyncSession) -> None:
    a_h, _, w = await _world(client, db)
    b_ids = {w["org"]["id"], w["ws"]["id"], w["team"]["id"], w["inv"]["id"]}
    for url in ("/organizations", "/workspaces", "/tenants"):
        for params in ({}, {"member_only": "False"}, {"status": "pending"}):
            r = await client.get(url, params=params, headers=a_h)
            assert r.status_code == 200
            assert not b_ids & {x["id"] for x in r.json()}, url
    r = await client.get("/workspaces", params={"organization_id": w["org"]["id"]}, headers=a_h)
    assert r.json() == []
    r = await client.get("/workspaces", params={"workspace_name": "ws-b"}, headers=a_h)
    assert r.json() == []
    [org_a] = (await client.get("/organizations", headers=a_h)).json()
    r = await client.get(f"/organizations/{org_a['id']}/members", headers=a_h)
    assert not {"bert", "team-b"} & {m["name"] for m in r.json()}
