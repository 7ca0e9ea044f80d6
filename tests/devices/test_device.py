from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.authz import make_enrolled_workspace, make_org, member_of
from tests.fixtures.factories import PASSWORD, bearer, make_user
from zenpro.auth.secrets import hash_secret
from zenpro.kit.db import utcnow
from zenpro.models import Device, Token, User, Workspace

GRANT = "urn:ietf:params:oauth:grant-type:device_code"
OAUTH_KEYS = {"error", "error_description", "error_uri", "status_code"}
SAME_ORIGIN = {"Origin": "http://testserver"}


async def _start(client: httpx.AsyncClient, client_id: uuid.UUID | None = None) -> dict[str, Any]:
    r = await client.post(
        "/auth/device_authorization", data={"client_id": str(client_id or uuid.uuid4())}
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _poll(client: httpx.AsyncClient, flow: dict[str, Any], client_id: str) -> httpx.Response:
    return await client.post(
        "/auth/login",
        data={"grant_type": GRANT, "client_id": client_id, "device_code": flow["device_code"]},
    )


async def _setup(db: AsyncSession, alice: User) -> Workspace:
    owner = await make_user(db, "owner")
    org = await make_org(db, owner)
    ws, _ = await make_enrolled_workspace(db, org, owner, "ws1")
    await member_of(db, alice, org, ws)
    return ws


async def _reset_poll(db: AsyncSession) -> None:
    await db.execute(update(Device).values(last_poll=None))
    await db.commit()


async def test_device_flow_end_to_end(
    client: httpx.AsyncClient, db: AsyncSession, alice: User
) -> None:
    ws_id = (await _setup(db, alice)).id
    cid = uuid.uuid4()
    flow = await _start(client, cid)
    assert set(flow) == {
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_in",
        "interval",
    }
    assert flow["verification_uri"] == "/devices/verify"
    assert flow["expires_in"] > 60
    # Device code stored hashed only.
    codes = (await db.scalars(select(Device.device_code_hash))).all()
    await db.rollback()
    assert hash_secret(flow["device_code"]) in codes
    assert flow["device_code"] not in codes

    pending = await _poll(client, flow, str(cid))
    assert pending.status_code == 400
    assert set(pending.json()) == OAUTH_KEYS
    assert pending.json()["error"] == "authorization_pending"
    fast = await _poll(client, flow, str(cid))
    assert fast.status_code == 400
    assert fast.json()["error"] == "slow_down"
    assert set(fast.json()) == OAUTH_KEYS

    # Logged out: the page sends the browser through /login and back.
    page_url = flow["verification_uri_complete"] + "&workspace=ws1"
    r = await client.get(page_url)
    assert r.status_code == 303
    login = urlsplit(r.headers["location"])
    assert login.path == "/login"
    nxt = parse_qs(login.query)["next"][0]
    assert nxt == page_url
    r = await client.post("/login", data={"username": "alice", "password": PASSWORD, "next": nxt})
    assert r.status_code == 303
    assert r.headers["location"] == page_url
    page = await client.get(page_url)
    assert page.status_code == 200
    assert "<script" not in page.text
    assert f'<option value="{ws_id}" selected>' in page.text
    assert flow["user_code"] in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]

    r = await client.post(
        "/devices/verify",
        data={"user_code": flow["user_code"], "workspace_id": str(ws_id), "action": "approve"},
        headers=SAME_ORIGIN,
    )
    assert r.status_code == 200, r.text
    assert "approved" in r.text

    await _reset_poll(db)
    ok = await _poll(client, flow, str(cid))
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["token_type"] == "bearer"
    assert body["device_metadata"] == {"tenant_id": str(ws_id)}
    assert uuid.UUID(body["device_id"])
    assert body["expires_in"] >= 3500
    client.cookies.clear()
    me = await client.get("/users/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["username"] == "alice"
    # The token has no idle expiry: it lives its whole expires_in.
    idle = (await db.scalars(select(Token.idle_minutes).where(Token.kind == "device"))).one()
    await db.rollback()
    assert idle is None

    # A device code is used once.
    again = await _poll(client, flow, str(cid))
    assert again.status_code == 400
    assert set(again.json()) == OAUTH_KEYS

    devices = await client.get("/users/me/devices", headers=bearer(body["access_token"]))
    assert devices.status_code == 200
    assert [d["id"] for d in devices.json()] == [body["device_id"]]
    assert devices.json()[0]["workspace_id"] == str(ws_id)
    sessions = await client.get("/users/me/sessions", headers=bearer(body["access_token"]))
    assert sessions.status_code == 200
    r = await client.delete(
        f"/users/me/devices/{body['device_id']}", headers=bearer(body["access_token"])
    )
    assert r.status_code == 200
    assert r.json() == {}
    assert (await client.get("/users/me", headers=bearer(body["access_token"]))).status_code == 401


async def test_deny_gives_access_denied(
    client: httpx.AsyncClient, db: AsyncSession, alice: User
) -> None:
    ws = await _setup(db, alice)
    cid = str(uuid.uuid4())
    flow = await _start(client, uuid.UUID(cid))
    await client.post("/login", data={"username": "alice", "password": PASSWORD})
    r = await client.post(
        "/devices/verify",
        data={
            "user_code": flow["user_code"].lower().replace("-", ""),
            "action": "deny",
            "workspace_id": str(ws.id),
        },
        headers=SAME_ORIGIN,
    )
    assert r.status_code == 200
    assert "denied" in r.text
    r = await _poll(client, flow, cid)
    assert r.status_code == 400
    assert r.json()["error"] == "access_denied"
    assert set(r.json()) == OAUTH_KEYS


async def test_expired_code(client: httpx.AsyncClient, db: AsyncSession) -> None:
    cid = str(uuid.uuid4())
    flow = await _start(client, uuid.UUID(cid))
    await db.execute(update(Device).values(expires=utcnow() - timedelta(seconds=1)))
    await db.commit()
    r = await _poll(client, flow, cid)
    assert r.status_code == 400
    assert r.json()["error"] == "expired_token"
    assert set(r.json()) == OAUTH_KEYS


async def test_wrong_client_or_code_is_an_oauth_error(client: httpx.AsyncClient) -> None:
    flow = await _start(client)
    for data in (
        {"grant_type": GRANT, "client_id": str(uuid.uuid4()), "device_code": flow["device_code"]},
        {"grant_type": GRANT, "client_id": str(uuid.uuid4()), "device_code": "nope"},
        {"grant_type": GRANT},
    ):
        r = await client.post("/auth/login", data=data)
        assert r.status_code == 400
        assert set(r.json()) == OAUTH_KEYS, r.json()
        assert "detail" not in r.json()


async def test_cannot_approve_a_foreign_workspace_or_cross_origin(
    client: httpx.AsyncClient, db: AsyncSession, alice: User
) -> None:
    await _setup(db, alice)
    other_owner = await make_user(db, "other")
    other_org = await make_org(db, other_owner)
    foreign, _ = await make_enrolled_workspace(db, other_org, other_owner, "foreign")
    flow = await _start(client)
    await client.post("/login", data={"username": "alice", "password": PASSWORD})
    page = await client.get(f"/devices/verify?user_code={flow['user_code']}")
    assert "foreign" not in page.text
    data = {"user_code": flow["user_code"], "workspace_id": str(foreign.id), "action": "approve"}
    r = await client.post("/devices/verify", data=data, headers=SAME_ORIGIN)
    assert r.status_code == 404  # not one of alice's workspaces: as if it did not exist
    r = await client.post("/devices/verify", data=data, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    status = (await db.scalars(select(Device.status))).one()
    assert status == "pending"


async def test_reusing_device_id_reauthorizes_in_place(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    cid = uuid.uuid4()
    await _start(client, cid)
    device_id = (await db.scalars(select(Device.id))).one()
    await db.rollback()
    r = await client.post(
        "/auth/device_authorization", data={"client_id": str(cid), "device_id": str(device_id)}
    )
    assert r.status_code == 200
    assert len((await db.scalars(select(Device.id))).all()) == 1


async def test_unknown_user_code_on_page(
    client: httpx.AsyncClient, db: AsyncSession, alice: User
) -> None:
    await _setup(db, alice)
    await client.post("/login", data={"username": "alice", "password": PASSWORD})
    r = await client.post(
        "/devices/verify",
        data={"user_code": "BCDF-GHJK", "action": "approve", "workspace_id": str(uuid.uuid4())},
        headers=SAME_ORIGIN,
    )
    assert r.status_code == 404
    assert "Unknown or expired code" in r.text


async def test_devices_need_login(client: httpx.AsyncClient) -> None:
    assert (await client.get("/users/me/devices")).status_code == 401
    r = await client.delete(f"/users/me/devices/{uuid.uuid4()}")
    assert r.status_code == 401


async def test_user_codes_never_clash_among_pending_flows(
    client: httpx.AsyncClient, db: AsyncSession, alice: User, monkeypatch: Any
) -> None:
    """A clash would let one person's approval reach another person's CLI."""
    codes = iter(["BCDF-GHJK", "BCDF-GHJK", "BCDF-GHJK", "LMNP-QRST"])
    monkeypatch.setattr("zenpro.devices.service.new_user_code", lambda: next(codes))
    first, second = await _start(client), await _start(client)
    assert first["user_code"] == "BCDF-GHJK"
    assert second["user_code"] == "LMNP-QRST"  # two draws were taken: the code was pending


async def test_an_ambiguous_user_code_approves_nothing(
    client: httpx.AsyncClient, db: AsyncSession, alice: User
) -> None:
    ws = await _setup(db, alice)
    cid = str(uuid.uuid4())
    first, second = await _start(client, uuid.UUID(cid)), await _start(client)
    # As if two allocations had raced: both pending flows now hold one code.
    await db.execute(update(Device).values(user_code=first["user_code"]))
    await db.commit()
    await client.post("/login", data={"username": "alice", "password": PASSWORD})
    r = await client.post(
        "/devices/verify",
        data={"user_code": first["user_code"], "action": "approve", "workspace_id": str(ws.id)},
        headers=SAME_ORIGIN,
    )
    assert r.status_code == 404
    assert "Unknown or expired code" in r.text
    statuses = set((await db.scalars(select(Device.status))).all())
    await db.rollback()
    assert statuses == {"pending"}
    assert second["user_code"] != first["user_code"]
