from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.authz import assign, make_enrolled_workspace, make_org
from tests.fixtures.factories import bearer, make_user, token_for
from zenpro.authz.vocabulary import ORG_MEMBER_ID, WORKSPACE_VIEWER_ID
from zenpro.models import Organization, RoleAssignment, User


class Org:
    def __init__(self, org: Organization, headers: dict[str, str]) -> None:
        self.id = org.id
        self.org = org
        self.headers = headers
        self.base = f"/organizations/{org.id}/service_accounts"


@pytest.fixture
async def org(db: AsyncSession) -> Org:
    owner = await make_user(db, "owner")
    organization = await make_org(db, owner, "acme")
    return Org(organization, bearer(await token_for(db, owner)))


async def _sa(client: httpx.AsyncClient, org: Org, name: str = "ci-bot") -> dict[str, str]:
    r = await client.post(
        org.base,
        json={"name": name, "description": "CI", "display_name": "CI"},
        headers=org.headers,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _key(client: httpx.AsyncClient, org: Org, sa: str, **extra: object) -> dict[str, str]:
    r = await client.post(
        f"{org.base}/{sa}/api_keys",
        json={"name": "k", "description": "d", "expires_in_minutes": 60, **extra},
        headers=org.headers,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_create_and_use_a_service_account(
    client: httpx.AsyncClient, db: AsyncSession, org: Org
) -> None:
    sa = await _sa(client, org)
    assert sa["is_service_account"] is True
    assert sa["email"] is None
    assert sa["organization_id"] == str(org.id)
    assert sa["description"] == "CI"
    assert sa["name"] == "CI"
    roles = (
        await db.scalars(
            select(RoleAssignment.role_id).where(RoleAssignment.user_id == uuid.UUID(sa["id"]))
        )
    ).all()
    await db.rollback()
    assert list(roles) == [ORG_MEMBER_ID]
    listed = (await client.get(org.base, headers=org.headers)).json()
    assert [s["id"] for s in listed] == [sa["id"]]
    by_name = await client.get(f"{org.base}/ci-bot", headers=org.headers)
    by_id = await client.get(f"{org.base}/{sa['id']}", headers=org.headers)
    assert by_name.json()["id"] == by_id.json()["id"] == sa["id"]

    key = await _key(client, org, "ci-bot")
    assert key["key"].startswith("ZENPROKEY_")
    assert key["expires"] is not None
    keys = (await client.get(f"{org.base}/ci-bot/api_keys", headers=org.headers)).json()
    assert len(keys) == 1
    assert "key" not in keys[0]
    me = await client.get("/users/me", headers=bearer(key["key"]))
    assert me.status_code == 200
    assert me.json()["is_service_account"] is True
    # The CLI's C3 exchange.
    r = await client.post("/auth/login", data={"password": key["key"]}, headers=bearer(key["key"]))
    assert r.status_code == 200
    # Service accounts have no password and no browser login.
    assert (
        await client.post("/auth/login", data={"username": "ci-bot", "password": "x" * 12})
    ).status_code == 401
    # Nor PAT endpoints.
    assert (await client.get("/users/me/api_keys", headers=bearer(key["key"]))).status_code == 403


async def test_rotation_retention_and_deactivation(client: httpx.AsyncClient, org: Org) -> None:
    await _sa(client, org)
    key = await _key(client, org, "ci-bot")
    old = key["key"]
    r = await client.post(
        f"{org.base}/ci-bot/api_keys/{key['id']}/rotate",
        json={"retain_period_minutes": 5},
        headers=org.headers,
    )
    assert r.status_code == 200, r.text
    new = r.json()["key"]
    for secret in (old, new):
        assert (await client.get("/users/me", headers=bearer(secret))).status_code == 200
    token = (await client.post("/auth/login", data={"password": new})).json()["access_token"]
    r = await client.patch(f"{org.base}/ci-bot", json={"is_active": False}, headers=org.headers)
    assert r.status_code == 200
    assert r.json()["is_active"] is False
    for secret in (old, new, token):
        assert (await client.get("/users/me", headers=bearer(secret))).status_code == 401
    await client.patch(f"{org.base}/ci-bot", json={"is_active": True}, headers=org.headers)
    assert (await client.get("/users/me", headers=bearer(new))).status_code == 200


async def test_key_update_delete(client: httpx.AsyncClient, org: Org) -> None:
    await _sa(client, org)
    key = await _key(client, org, "ci-bot")
    url = f"{org.base}/ci-bot/api_keys/{key['id']}"
    r = await client.patch(url, json={"active": False, "name": "off"}, headers=org.headers)
    assert r.status_code == 200
    assert r.json()["name"] == "off"
    assert (await client.get("/users/me", headers=bearer(key["key"]))).status_code == 401
    r = await client.delete(url, headers=org.headers)
    assert r.status_code == 200
    assert r.json() == {}
    assert (await client.delete(url, headers=org.headers)).status_code == 404


async def test_update_and_delete_service_account(client: httpx.AsyncClient, org: Org) -> None:
    sa = await _sa(client, org)
    key = await _key(client, org, "ci-bot")
    r = await client.patch(f"{org.base}/ci-bot", json={"name": "ci-bot2"}, headers=org.headers)
    assert r.status_code == 200
    assert r.json()["username"] == "ci-bot2"
    assert (
        await client.post(org.base, json={"name": "ci-bot2"}, headers=org.headers)
    ).status_code == 409
    assert (await client.delete(f"{org.base}/{sa['id']}", headers=org.headers)).status_code == 200
    assert (await client.get(f"{org.base}/{sa['id']}", headers=org.headers)).status_code == 404
    assert (await client.get("/users/me", headers=bearer(key["key"]))).status_code == 401


async def test_permissions(
    client: httpx.AsyncClient, db: AsyncSession, org: Org, alice: User
) -> None:
    sa = await _sa(client, org)
    alice_headers = bearer(await token_for(db, alice))
    # A stranger: 404 everywhere.
    for method, path in (
        ("GET", org.base),
        ("POST", org.base),
        ("GET", f"{org.base}/ci-bot"),
        ("PATCH", f"{org.base}/ci-bot"),
        ("DELETE", f"{org.base}/ci-bot"),
        ("POST", f"{org.base}/ci-bot/api_keys"),
    ):
        r = await client.request(method, path, json={"name": "x"}, headers=alice_headers)
        assert r.status_code == 404, (method, path, r.status_code)
    # A plain member: visible, but 403.
    await assign(db, ORG_MEMBER_ID, org.org, user=alice)
    assert (await client.get(org.base, headers=alice_headers)).status_code == 403
    r = await client.post(org.base, json={"name": "x"}, headers=alice_headers)
    assert r.status_code == 403
    assert (await client.get(org.base)).status_code == 401
    # Service accounts of another org are invisible here.
    other_owner = await make_user(db, "other")
    other = await make_org(db, other_owner, "other")
    other_headers = bearer(await token_for(db, other_owner))
    r = await client.get(
        f"/organizations/{other.id}/service_accounts/{sa['id']}", headers=other_headers
    )
    assert r.status_code == 404


async def test_service_account_on_a_workspace(
    client: httpx.AsyncClient, db: AsyncSession, org: Org
) -> None:
    sa = await _sa(client, org)
    key = (await _key(client, org, "ci-bot"))["key"]
    owner = (await db.scalars(select(User).where(User.username == "owner"))).one()
    ws, _ = await make_enrolled_workspace(db, org.org, owner, "ws1")
    ws_id = ws.id
    url = f"/users/authorize_server?server_id={ws_id}"
    assert (await client.get(url, headers=bearer(key))).status_code == 403
    sa_user = await db.get(User, uuid.UUID(sa["id"]))
    assert sa_user is not None
    await assign(db, WORKSPACE_VIEWER_ID, org.org, user=sa_user, workspace=ws)
    r = await client.get(url, headers=bearer(key))
    assert r.status_code == 200
    assert r.json()["is_service_account"] is True
    assert r.json()["email"] is None
