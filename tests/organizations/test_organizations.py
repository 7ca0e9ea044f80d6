from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.authz import assign
from tests.fixtures.factories import bearer, make_user, token_for
from tests.fixtures.orgs import create_invitation_via_api, create_org_via_api, create_ws_via_api
from zenpro.authz.vocabulary import ORG_ADMIN_ID, ORG_MEMBER_ID, WORKSPACE_VIEWER_ID
from zenpro.models import RoleAssignment, User


async def test_create_makes_owner_admin(
    client: httpx.AsyncClient, db: AsyncSession, alice: User, alice_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    assert org["owner"]["id"] == str(alice.id)
    assert org["has_active_subscription"] is None
    ra = await db.scalar(
        select(RoleAssignment).where(RoleAssignment.organization_id == uuid.UUID(org["id"]))
    )
    await db.commit()  # end the read: SQLite would hold its write lock
    assert ra is not None
    assert ra.role_id == ORG_ADMIN_ID
    assert ra.user_id == alice.id
    for ref in (org["id"], "acme"):
        r = await client.get(f"/organizations/{ref}", headers=alice_headers)
        assert r.status_code == 200
        assert r.json()["id"] == org["id"]
    r = await client.get("/organizations", params={"name": "acme"}, headers=alice_headers)
    assert [o["id"] for o in r.json()] == [org["id"]]
    assert r.headers["X-Total-Count"] == "1"
    r = await client.get(
        "/organizations", params={"owner_id": str(uuid.uuid4())}, headers=alice_headers
    )
    assert r.json() == []


async def test_owner_of_two_orgs(client: httpx.AsyncClient, alice_headers: dict[str, str]) -> None:
    await create_org_via_api(client, alice_headers, "one")
    await create_org_via_api(client, alice_headers, "two")
    r = await client.get("/organizations", headers=alice_headers)
    assert sorted(o["name"] for o in r.json()) == ["one", "two"]


async def test_bad_input(client: httpx.AsyncClient, alice_headers: dict[str, str]) -> None:
    for body in (
        {"name": "Bad\tName"},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 51},
        {"name": "ok", "owner_id": "x"},
        {},
    ):
        r = await client.post("/organizations", json=body, headers=alice_headers)
        assert r.status_code == 422, body
    r = await client.post("/organizations", content=b"{", headers=alice_headers)
    assert r.status_code == 422
    assert (
        await client.get("/organizations/NOT%20A%20NAME%00", headers=alice_headers)
    ).status_code == 404
    assert (await client.post("/organizations", json={"name": "x"})).status_code == 401


async def test_update_and_duplicate(
    client: httpx.AsyncClient, alice_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    await create_org_via_api(client, alice_headers, "other")
    r = await client.patch(
        f"/organizations/{org['id']}", json={"display_name": "Acme Inc."}, headers=alice_headers
    )
    assert r.status_code == 200
    assert r.json()["display_name"] == "Acme Inc."
    r = await client.patch(
        f"/organizations/{org['id']}", json={"name": "other"}, headers=alice_headers
    )
    assert r.status_code == 409
    assert r.json()["detail"][0] == "EntityExistsError"
    r = await client.post("/organizations", json={"name": "acme"}, headers=alice_headers)
    assert r.status_code == 409


async def test_member_may_read_not_update(
    client: httpx.AsyncClient, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    bob = await make_user(db, "bob")
    await assign(db, ORG_MEMBER_ID, org["id"], user=bob)
    bob_h = bearer(await token_for(db, bob))
    assert (await client.get(f"/organizations/{org['id']}", headers=bob_h)).status_code == 200
    r = await client.patch(f"/organizations/{org['id']}", json={"description": "x"}, headers=bob_h)
    assert r.status_code == 403
    assert (await client.delete(f"/organizations/{org['id']}", headers=bob_h)).status_code == 403
    assert (
        await client.get(f"/organizations/{org['id']}/members", headers=bob_h)
    ).status_code == 403


async def test_limit(
    app: FastAPI, client: httpx.AsyncClient, alice_headers: dict[str, str]
) -> None:
    original = app.state.settings
    app.state.settings = original.model_copy(update={"max_owned_organizations": 1})
    try:
        await create_org_via_api(client, alice_headers, "first")
        r = await client.post("/organizations", json={"name": "second"}, headers=alice_headers)
        assert r.status_code == 402
        assert r.json()["detail"][0] == "SubscriptionUpgradeRequiredError"
    finally:
        app.state.settings = original


async def test_service_account_cannot_create(
    client: httpx.AsyncClient, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    sa = User(
        username="robot",
        is_service_account=True,
        organization_id=uuid.UUID(org["id"]),
        metadata_={},
    )
    db.add(sa)
    await db.commit()
    r = await client.post(
        "/organizations", json={"name": "sa-org"}, headers=bearer(await token_for(db, sa))
    )
    assert r.status_code == 403


async def test_delete_refused_with_live_workspaces(
    client: httpx.AsyncClient, alice_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    ws = await create_ws_via_api(client, alice_headers, org["id"], "ws-1")
    r = await client.delete(f"/organizations/{org['id']}", headers=alice_headers)
    assert r.status_code == 409
    assert "force" in r.json()["detail"][1]
    assert (
        await client.delete(f"/workspaces/{ws['id']}", headers=alice_headers)
    ).status_code == 200
    r = await client.delete(f"/organizations/{org['id']}", headers=alice_headers)
    assert r.status_code == 200
    assert r.json() == {}
    assert (
        await client.get(f"/organizations/{org['id']}", headers=alice_headers)
    ).status_code == 404


async def test_force_delete(client: httpx.AsyncClient, alice_headers: dict[str, str]) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    await create_ws_via_api(client, alice_headers, org["id"], "ws-1")
    r = await client.delete(
        f"/organizations/{org['id']}", params={"force": "True"}, headers=alice_headers
    )
    assert r.status_code == 200
    assert (await client.get("/workspaces", headers=alice_headers)).json() == []


async def test_members_and_removal(
    client: httpx.AsyncClient, db: AsyncSession, alice: User, alice_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    ws = await create_ws_via_api(client, alice_headers, org["id"], "ws-1")
    bob = await make_user(db, "bob")
    await assign(db, ORG_MEMBER_ID, org["id"], user=bob)
    await assign(db, WORKSPACE_VIEWER_ID, org["id"], user=bob, workspace=ws["id"])
    team = (
        await client.post(
            "/teams", json={"name": "devs", "organization_id": org["id"]}, headers=alice_headers
        )
    ).json()
    r = await client.post(
        f"/teams/{team['id']}/members", params={"user_id": str(bob.id)}, headers=alice_headers
    )
    assert r.status_code == 200
    await create_invitation_via_api(client, alice_headers, org["id"], "carol@example.com")
    r = await client.get(f"/organizations/{org['id']}/members", headers=alice_headers)
    assert r.status_code == 200
    members = r.json()
    assert r.headers["X-Total-Count"] == str(len(members)) == "4"
    by_name = {m["name"]: m for m in members}
    assert by_name["alice"]["type"] == "user"
    assert [x["name"] for x in by_name["alice"]["roles"]] == ["Organization Admin"]
    assert [x["name"] for x in by_name["bob"]["roles"]] == ["Organization Member"]
    assert by_name["devs"]["type"] == "team"
    assert by_name["carol@example.com"]["type"] == "invitation"
    r = await client.delete(
        f"/organizations/{org['id']}/members",
        params={"user_id": str(bob.id)},
        headers=alice_headers,
    )
    assert r.status_code == 200
    left = await db.scalars(select(RoleAssignment).where(RoleAssignment.user_id == bob.id))
    assert list(left) == []
    await db.commit()
    r = await client.get(f"/teams/{team['id']}", headers=alice_headers)
    assert r.json()["member_count"] == 0
    bob_h = bearer(await token_for(db, bob))
    assert (await client.get(f"/organizations/{org['id']}", headers=bob_h)).status_code == 404
    r = await client.delete(
        f"/organizations/{org['id']}/members",
        params={"user_id": str(alice.id)},
        headers=alice_headers,
    )
    assert r.status_code == 409
    r = await client.delete(
        f"/organizations/{org['id']}/members", params={"user_id": "nope"}, headers=alice_headers
    )
    assert r.status_code == 422


@pytest.mark.parametrize("n", [50])
async def test_concurrent_creates(
    client: httpx.AsyncClient, alice_headers: dict[str, str], n: int
) -> None:
    async def one() -> int:
        r = await client.post("/organizations", json={"name": "race"}, headers=alice_headers)
        return r.status_code

    codes = await asyncio.gather(*(one() for _ in range(n)))
    assert sorted(codes) == [201] + [409] * (n - 1), codes
    r = await client.get("/organizations", params={"name": "race"}, headers=alice_headers)
    assert len(r.json()) == 1
