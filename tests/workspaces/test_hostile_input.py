"""Hostile values in paths, filters and bodies of the org/workspace/team/invitation
routes get a 4xx, never a 500."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from tests.fixtures.orgs import create_org_via_api

HOSTILE = ["x" * 2000, "a\x00b", "'; DROP TABLE workspaces; --", "../../etc", "é" * 60, "%"]


@pytest.mark.parametrize("value", HOSTILE)
async def test_hostile_values_never_500(
    client: httpx.AsyncClient, alice_headers: dict[str, str], value: str
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    h = alice_headers
    path = quote(value, safe="")
    responses = [
        await client.get(f"/organizations/{path}", headers=h),
        await client.get(f"/workspaces/{path}", headers=h),
        await client.get(f"/tenants/{path}/members", headers=h),
        await client.get(f"/teams/{path}", headers=h),
        await client.get("/workspaces", params={"url": value}, headers=h),
        await client.get("/workspaces", params={"workspace_name": value}, headers=h),
        await client.get("/organizations", params={"name": value}, headers=h),
        await client.get(
            f"/organizations/{org['id']}/invitations", params={"email": value}, headers=h
        ),
        await client.post("/organizations", json={"name": value}, headers=h),
        await client.post(
            "/workspaces", json={"name": value, "organization_id": org["id"]}, headers=h
        ),
        await client.patch(f"/organizations/{org['id']}", json={"display_name": value}, headers=h),
        await client.post(
            f"/organizations/{org['id']}/invitations", json={"email": value}, headers=h
        ),
    ]
    for r in responses:
        assert r.status_code < 500, (r.request.url, r.status_code, r.text)
