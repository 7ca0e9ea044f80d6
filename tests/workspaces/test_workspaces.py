from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.authz import assign
from tests.fixtures.factories import bearer, make_user, token_for
from tests.fixtures.orgs import create_org_via_api, create_ws_via_api
from zenpro.auth.secrets import hash_secret
from zenpro.authz.vocabulary import ORG_MEMBER_ID
from zenpro.models import Workspace
from zenpro.workspaces.lifecycle import reconcile_once, record_server_status

WIRE_KEYS = {
    "id",
    "name",
    "display_name",
    "description",
    "logo_url",
    "organization",
    "owner",
    "is_managed",
    "zenml_service",
    "usage_counts",
    "desired_state",
    "state_reason",
    "status",
    "status_updated",
    "created",
    "updated",
}


async def _reconcile(app: FastAPI) -> int:
    return await reconcile_once(app.state.sessionmaker, app.state.settings)


async def test_wire_shape_and_simulated_lifecycle(
    app: FastAPI, client: httpx.AsyncClient, alice_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    ws = await create_ws_via_api(client, alice_headers, org["id"], "prod")
    assert ws["status"] == "pending"
    assert ws["desired_state"] == "available"
    assert ws["is_managed"] is True
    assert ws["enrollment_key"] is None
    assert ws["zenml_service"] == {"configuration": {"version": "0.98.0"}, "status": None}
    assert set(ws["organization"]) >= {"id", "name", "created", "updated"}
    assert await _reconcile(app) == 1
    assert await _reconcile(app) == 0
    r = await client.get(f"/workspaces/{ws['id']}", headers=alice_headers)
    body = r.json()
    assert set(body) == WIRE_KEYS
    assert body["status"] == "available"
    assert body["state_reason"] == ""
    assert body["zenml_service"]["status"] == {
        "server_url": "http://prod.workspaces.localhost",
        "version": "0.98.0",
    }
    assert (await client.get("/workspaces/prod", headers=alice_headers)).json()["id"] == ws["id"]

    async def patch(**body: str) -> httpx.Response:
        return await client.patch(f"/workspaces/{ws['id']}", json=body, headers=alice_headers)

    r = await patch(desired_state="deactivated")
    assert r.status_code == 200
    assert r.json()["desired_state"] == "deactivated"
    await _reconcile(app)
    assert (await client.get(f"/workspaces/{ws['id']}", headers=alice_headers)).json()[
        "status"
    ] == "deactivated"
    await patch(desired_state="available")
    assert await _reconcile(app) == 2  # deactivated → pending → available
    assert (await client.get(f"/workspaces/{ws['id']}", headers=alice_headers)).json()[
        "status"
    ] == "available"
    assert (await patch(desired_state="not_initialized")).status_code == 422
    assert (await patch(bogus="x")).status_code == 422
    r = await client.delete(f"/workspaces/{ws['id']}", headers=alice_headers)
    assert r.status_code == 200
    assert r.json() == {}
    body = (await client.get(f"/workspaces/{ws['id']}", headers=alice_headers)).json()
    assert body["status"] == "deleted"
    assert body["desired_state"] == "deleted"
    r = await patch(description="again")
    assert r.status_code == 409
    assert "deleted" in r.json()["detail"][1]
    assert (
        await client.delete(f"/workspaces/{ws['id']}", headers=alice_headers)
    ).status_code == 409
    # The name is free again; deleted ones show only when asked for.
    again = await create_ws_via_api(client, alice_headers, org["id"], "prod")
    listed = (await client.get("/workspaces", headers=alice_headers)).json()
    assert [w["id"] for w in listed] == [again["id"]]
    deleted = (
        await client.get("/workspaces", params={"status": "deleted"}, headers=alice_headers)
    ).json()
    assert [w["id"] for w in deleted] == [ws["id"]]


async def test_enroll_key_shown_once(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    ws = await create_ws_via_api(client, alice_headers, org["id"], "edge", enroll=True)
    key = ws["enrollment_key"]
    assert key
    assert key.startswith("zpe_")
    assert ws["is_managed"] is False
    r = await client.get(f"/workspaces/{ws['id']}", headers=alice_headers)
    assert "enrollment_key" not in r.json()
    row = await db.scalar(select(Workspace).where(Workspace.id == uuid.UUID(ws["id"])))
    await db.commit()
    assert row is not None
    assert row.enrollment_key_hash == hash_secret(key)
    # External: pending until the workspace server reports.
    await _reconcile(app)
    body = (await client.get(f"/workspaces/{ws['id']}", headers=alice_headers)).json()
    assert body["status"] == "pending"
    assert body["state_reason"]
    async with app.state.sessionmaker() as s:
        await record_server_status(s, uuid.UUID(ws["id"]), "http://edge:8080/", "0.98.1")
        await s.commit()
    body = (await client.get(f"/workspaces/{ws['id']}", headers=alice_headers)).json()
    assert body["status"] == "available"
    assert body["zenml_service"]["status"] == {
        "server_url": "http://edge:8080/",
        "version": "0.98.1",
    }
    # Rotation: a new key, shown once; the old hash is gone.
    r = await client.post(f"/workspaces/{ws['id']}/enrollment_key", headers=alice_headers)
    assert r.status_code == 200
    new_key = r.json()["enrollment_key"]
    assert new_key
    assert new_key != key
    await db.refresh(row)
    await db.commit()
    assert row.enrollment_key_hash == hash_secret(new_key)


async def test_list_alias_and_filters(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    a = await create_ws_via_api(client, alice_headers, org["id"], "alpha")
    b = await create_ws_via_api(client, alice_headers, org["id"], "beta")
    await create_ws_via_api(client, alice_headers, org["id"], "gamma")
    await _reconcile(app)
    ws_list = await client.get("/workspaces", params={"limit": 2}, headers=alice_headers)
    tn_list = await client.get("/tenants", params={"limit": 2}, headers=alice_headers)
    assert ws_list.status_code == tn_list.status_code == 200
    assert isinstance(ws_list.json(), list)
    assert ws_list.json() == tn_list.json()
    assert ws_list.headers["X-Total-Count"] == tn_list.headers["X-Total-Count"] == "3"
    assert 'rel="next"' in ws_list.headers["Link"]
    assert "cursor=" in ws_list.headers["Link"]
    assert (await client.get("/tenants/alpha", headers=alice_headers)).json()["id"] == a["id"]

    async def names(path: str = "/workspaces", **params: str) -> list[str]:
        r = await client.get(path, params=params, headers=alice_headers)
        assert r.status_code == 200, r.text
        return [w["name"] for w in r.json()]

    assert await names(workspace_name="beta", member_only="True") == ["beta"]
    assert await names("/tenants", tenant_name="beta") == ["beta"]
    assert await names("/tenants", tenant_id=b["id"]) == ["beta"]
    for url in ("http://beta.workspaces.localhost", "http://beta.workspaces.localhost/"):
        assert await names(url=url, member_only="False") == ["beta"]
    assert await names(url="http://nowhere") == []
    assert await names(organization_id=org["id"], status="available") == ["alpha", "beta", "gamma"]
    assert await names(is_managed="False") == []
    assert await names(f"/organizations/{org['id']}/workspaces") == ["alpha", "beta", "gamma"]
    assert await names(f"/organizations/{org['id']}/tenants") == ["alpha", "beta", "gamma"]
    r = await client.get("/workspaces", params={"status": "sleeping"}, headers=alice_headers)
    assert r.status_code == 422
    r = await client.get("/workspaces", params={"limit": 1001}, headers=alice_headers)
    assert r.status_code == 422

    # member_only: a plain org member with a role in one workspace only.
    bob = await make_user(db, "bob")
    await assign(db, ORG_MEMBER_ID, org["id"], user=bob)
    from zenpro.authz.vocabulary import WORKSPACE_VIEWER_ID

    await assign(db, WORKSPACE_VIEWER_ID, org["id"], user=bob, workspace=b["id"])
    bob_h = bearer(await token_for(db, bob))
    for flag in ("True", "False"):
        r = await client.get("/workspaces", params={"member_only": flag}, headers=bob_h)
        assert [w["name"] for w in r.json()] == ["beta"]
    assert (await client.get(f"/workspaces/{a['id']}", headers=bob_h)).status_code == 404
    assert (await client.get(f"/workspaces/{b['id']}", headers=bob_h)).status_code == 200
    r = await client.patch(f"/workspaces/{b['id']}", json={"description": "x"}, headers=bob_h)
    assert r.status_code == 403
    # Alice (org admin, creator of all three) is a member of all; the superuser of none.
    assert await names(member_only="True") == ["alpha", "beta", "gamma"]


async def test_superuser_member_only(
    client: httpx.AsyncClient, alice_headers: dict[str, str], admin_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    await create_ws_via_api(client, alice_headers, org["id"], "alpha")
    r = await client.get("/workspaces", params={"member_only": "False"}, headers=admin_headers)
    assert [w["name"] for w in r.json()] == ["alpha"]
    r = await client.get("/workspaces", params={"member_only": "True"}, headers=admin_headers)
    assert r.json() == []


async def test_create_rules(
    client: httpx.AsyncClient, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    await create_ws_via_api(client, alice_headers, org["id"], "alpha")
    body = {"name": "alpha", "organization_id": org["id"]}
    assert (await client.post("/workspaces", json=body, headers=alice_headers)).status_code == 409
    for bad in (
        {"name": "Bad", "organization_id": org["id"]},
        {"name": "ok"},
        {"name": "ok", "organization_id": org["id"], "status": "available"},
    ):
        assert (
            await client.post("/workspaces", json=bad, headers=alice_headers)
        ).status_code == 422
    body = {"name": "ok", "organization_id": str(uuid.uuid4())}
    assert (await client.post("/workspaces", json=body, headers=alice_headers)).status_code == 404
    bob = await make_user(db, "bob")
    await assign(db, ORG_MEMBER_ID, org["id"], user=bob)
    body = {"name": "bobs", "organization_id": org["id"]}
    r = await client.post("/workspaces", json=body, headers=bearer(await token_for(db, bob)))
    assert r.status_code == 403


async def test_members(
    client: httpx.AsyncClient, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    ws = await create_ws_via_api(client, alice_headers, org["id"], "alpha")
    r = await client.get(f"/workspaces/{ws['id']}/members", headers=alice_headers)
    assert r.status_code == 200
    [me] = r.json()
    assert me["name"] == "alice"
    assert [x["name"] for x in me["roles"]] == ["Workspace Admin"]
    r = await client.get(f"/tenants/{ws['id']}/members", headers=alice_headers)
    assert r.json()[0]["name"] == "alice"
