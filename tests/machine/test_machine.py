from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.authz import assign, make_enrolled_workspace, make_org, member_of
from tests.fixtures.factories import bearer, make_user, token_for
from zenpro.authz.vocabulary import WORKSPACE_ADMIN_ID
from zenpro.models import Organization, User, Workspace

OAUTH = {"error", "error_description", "error_uri", "status_code"}


class World:
    def __init__(self, org: Organization, ws: Workspace, key: str, owner: User) -> None:
        self.org_id, self.ws_id, self.key, self.owner = org.id, ws.id, key, owner
        self.org, self.ws = org, ws


@pytest.fixture
async def world(db: AsyncSession) -> World:
    owner = await make_user(db, "owner")
    org = await make_org(db, owner, "acme")
    ws, key = await make_enrolled_workspace(db, org, owner, "ws1")
    return World(org, ws, key, owner)


async def _machine(client: httpx.AsyncClient, world: World, secret: str | None = None) -> Any:
    return await client.post(
        "/auth/login",
        data={
            "grant_type": "client_credentials",
            "client_id": str(world.ws_id),
            "client_secret": secret or world.key,
            "audience": "zenml-workspaces",
        },
    )


async def _machine_headers(client: httpx.AsyncClient, world: World) -> dict[str, str]:
    r = await _machine(client, world)
    assert r.status_code == 200, r.text
    return bearer(r.json()["access_token"])


async def test_client_credentials(client: httpx.AsyncClient, world: World) -> None:
    r = await _machine(client, world)
    assert r.status_code == 200
    body = r.json()
    assert body["access_token"]
    assert body["expires_in"] > 300
    assert body["token_type"] == "bearer"
    bad = await _machine(client, world, "zpe_wrong")
    assert bad.status_code == 401
    assert bad.json()["detail"][0] == "CredentialsNotValid"
    r = await client.post(
        "/auth/login",
        data={"grant_type": "client_credentials", "client_id": "nope", "client_secret": "x"},
    )
    assert r.status_code == 401
    r = await client.post("/auth/login", data={"grant_type": "client_credentials"})
    assert r.status_code == 400
    assert set(r.json()) == OAUTH


@pytest.mark.parametrize("status", ["deactivated", "deleted"])
async def test_client_credentials_refused_for_inactive_workspace(
    client: httpx.AsyncClient, db: AsyncSession, world: World, status: str
) -> None:
    await db.execute(update(Workspace).values(status=status))
    await db.commit()
    r = await _machine(client, world)
    assert r.status_code == 403
    assert r.json()["detail"][0] == "IllegalOperationError"


async def test_workspace_status(
    client: httpx.AsyncClient, db: AsyncSession, world: World, alice_headers: dict[str, str]
) -> None:
    headers = await _machine_headers(client, world)
    r = await client.patch(
        "/workspace_status",
        headers={
            **headers,
            "zenml-server-url": "http://127.0.0.1:8237/",
            "zenml-server-version": "0.98.0",
            "zenml-server-id": str(world.ws_id),
        },
    )
    assert r.status_code == 200, r.text
    row = (
        await db.execute(select(Workspace.status, Workspace.server_url, Workspace.server_version))
    ).one()
    await db.rollback()
    assert tuple(row) == ("available", "http://127.0.0.1:8237", "0.98.0")
    assert (await client.patch("/workspace_status", headers=alice_headers)).status_code == 403
    assert (await client.patch("/workspace_status")).status_code == 401
    # A machine token is not a user.
    assert (await client.get("/users/me", headers=headers)).status_code == 403
    # Deactivation stops the machine token at once.
    await db.execute(update(Workspace).values(status="deactivated"))
    await db.commit()
    assert (await client.patch("/workspace_status", headers=headers)).status_code == 401


async def test_authorize_server(
    client: httpx.AsyncClient, db: AsyncSession, world: World, alice: User
) -> None:
    url = f"/users/authorize_server?server_id={world.ws_id}"
    alice_headers = bearer(await token_for(db, alice))
    r = await client.get(url, headers=alice_headers)
    assert r.status_code == 403
    assert r.json()["detail"][0] == "IllegalOperationError"
    await member_of(db, alice, world.org, world.ws)
    r = await client.get(url, headers=alice_headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == str(alice.id)
    assert body["username"] == "alice"
    assert body["email"] == "alice@example.com"
    assert body["is_service_account"] is False
    assert "password_hash" not in body
    assert "$argon2" not in str(body)
    # A raw ZENPROKEY_ key works too.
    key = await client.post("/users/me/api_keys", json={"name": "k"}, headers=alice_headers)
    raw = key.json()["key"]
    assert (await client.get(url, headers=bearer(raw))).status_code == 200
    # Errors.
    assert (await client.get(url)).status_code == 401
    assert (await client.get(url, headers=bearer("zps_bad"))).status_code == 401
    assert (await client.get(url, headers=bearer("ZENPROKEY_bad"))).status_code == 401
    unknown = f"/users/authorize_server?server_id={uuid.uuid4()}"
    assert (await client.get(unknown, headers=alice_headers)).status_code == 404
    assert (
        await client.get("/users/authorize_server?server_id=x", headers=alice_headers)
    ).status_code == 404
    machine = await _machine_headers(client, world)
    assert (await client.get(url, headers=machine)).status_code == 403
    await db.execute(update(Workspace).values(status="deactivated"))
    await db.commit()
    assert (await client.get(url, headers=alice_headers)).status_code == 403


async def test_authorize_server_email_placeholder(
    client: httpx.AsyncClient, db: AsyncSession, world: World
) -> None:
    bob = await make_user(db, "bob")
    await db.execute(update(User).where(User.id == bob.id).values(email=None))
    await db.commit()
    await assign(db, WORKSPACE_ADMIN_ID, world.org, user=bob, workspace=world.ws)
    r = await client.get(
        f"/users/authorize_server?server_id={world.ws_id}",
        headers=bearer(await token_for(db, bob)),
    )
    assert r.status_code == 200
    assert r.json()["email"]


async def test_entitlement_and_usage(
    app: FastAPI,
    client: httpx.AsyncClient,
    world: World,
    alice_headers: dict[str, str],
) -> None:
    headers = await _machine_headers(client, world)
    url = f"/organizations/{world.org_id}/entitlement/pipeline"
    r = await client.get(url, headers=headers)
    assert r.status_code == 200
    assert r.json()["allowed"] is True
    event = {
        "organization_id": str(world.org_id),
        "feature": "pipeline",
        "total": 1,
        "metadata": {"workspace_id": str(world.ws_id), "resource_id": str(uuid.uuid4())},
    }
    for expected in (1, 2):
        r = await client.post("/usage-event", json=event, headers=headers)
        assert r.status_code == 200
        assert r.json()["count"] == expected
    r = await client.post("/usage-event", json={**event, "total": -1}, headers=headers)
    assert r.json()["count"] == 1
    original = app.state.settings
    app.state.settings = original.model_copy(update={"entitlement_limits": {"pipeline": 1}})
    try:
        await _limited(client, world, url, event, headers, alice_headers)
    finally:
        app.state.settings = original


async def _limited(
    client: httpx.AsyncClient,
    world: World,
    url: str,
    event: dict[str, Any],
    headers: dict[str, str],
    alice_headers: dict[str, str],
) -> None:
    r = await client.get(url, headers=headers)
    assert r.status_code == 402
    assert r.json()["detail"][0] == "SubscriptionUpgradeRequiredError"
    assert (await client.get(url.replace("pipeline", "model"), headers=headers)).status_code == 200
    # Members may ask; strangers and other orgs' workspaces may not.
    owner_headers = bearer(await token_for_owner(client, world))
    assert (await client.get(url, headers=owner_headers)).status_code == 402
    assert (await client.get(url, headers=alice_headers)).status_code == 404
    other = f"/organizations/{uuid.uuid4()}/entitlement/pipeline"
    assert (await client.get(other, headers=headers)).status_code == 403
    # Usage only from a machine token, only for its own workspace.
    assert (await client.post("/usage-event", json=event, headers=alice_headers)).status_code == 403
    foreign = {**event, "metadata": {"workspace_id": str(uuid.uuid4())}}
    assert (await client.post("/usage-event", json=foreign, headers=headers)).status_code == 403


async def token_for_owner(client: httpx.AsyncClient, world: World) -> str:
    r = await client.post("/auth/login", data={"username": "owner", "password": _password()})
    return str(r.json()["access_token"])


def _password() -> str:
    from tests.fixtures.factories import PASSWORD

    return PASSWORD
