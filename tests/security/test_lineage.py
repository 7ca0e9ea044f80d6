"""A credential dies with what it came from (issue 12, findings 6 and 7).

Before the fix, a token from ``GET /auth/api_token`` outlived the PAT, key or device it
was minted with, and could mint further tokens for ever; a password change left the
user's other sessions alive.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.authz import make_org, make_workspace
from tests.fixtures.factories import PASSWORD, bearer, make_user, token_for
from zenpro.auth import service as auth_service
from zenpro.auth.principal import Credential
from zenpro.kit.db import utcnow
from zenpro.models import Device, User

Client = httpx.AsyncClient


async def _pat(client: Client, h: dict[str, str], **body: object) -> dict[str, str]:
    r = await client.post("/users/me/api_keys", json={"name": "k", **body}, headers=h)
    assert r.status_code == 201, r.text
    return {"id": r.json()["id"], "key": r.json()["key"], "expires": r.json()["expires"]}


async def _mint(client: Client, h: dict[str, str]) -> dict[str, str]:
    r = await client.get("/auth/api_token", headers=h)
    assert r.status_code == 200, r.text
    return bearer(r.json()["access_token"])


async def _works(client: Client, h: dict[str, str]) -> bool:
    r = await client.get("/users/me", headers=h)
    assert r.status_code in (200, 401), r.text
    return r.status_code == 200


async def _exchanged(client: Client, key: str) -> dict[str, str]:
    r = await client.post("/auth/login", data={"password": key})
    assert r.status_code == 200, r.text
    return bearer(r.json()["access_token"])


Ending = Callable[[Client, dict[str, str], str], Awaitable[httpx.Response]]


async def _deactivate(client: Client, h: dict[str, str], kid: str) -> httpx.Response:
    return await client.patch(f"/users/me/api_keys/{kid}", json={"active": False}, headers=h)


async def _delete(client: Client, h: dict[str, str], kid: str) -> httpx.Response:
    return await client.delete(f"/users/me/api_keys/{kid}", headers=h)


async def _rotate(client: Client, h: dict[str, str], kid: str) -> httpx.Response:
    return await client.post(
        f"/users/me/api_keys/{kid}/rotate", json={"retain_period_minutes": 0}, headers=h
    )


@pytest.mark.parametrize(
    "end", [_deactivate, _delete, _rotate], ids=["deactivate", "delete", "rotate"]
)
async def test_ending_a_pat_ends_every_token_minted_from_it(
    client: Client, db: AsyncSession, alice_headers: dict[str, str], end: Ending
) -> None:
    pat = await _pat(client, alice_headers)
    direct = await _mint(client, bearer(pat["key"]))  # PAT used as Bearer
    exchanged = await _exchanged(client, pat["key"])
    grandchild = await _mint(client, exchanged)
    great = await _mint(client, grandchild)
    # a key made with a delegated credential descends from it too
    sub = await _pat(client, exchanged)
    minted = [direct, exchanged, grandchild, great, bearer(sub["key"])]
    assert all([await _works(client, h) for h in minted])
    assert (await end(client, alice_headers, pat["id"])).status_code == 200
    assert not any([await _works(client, h) for h in minted])
    assert await _works(client, alice_headers)  # the session it was all made in stays


async def test_a_minted_token_never_outlives_its_source(
    client: Client, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    pat = await _pat(client, alice_headers, expires_in_minutes=10)
    child = await client.get("/auth/api_token", headers=bearer(pat["key"]))
    assert child.json()["expires_in"] <= 10 * 60
    grand = await client.get("/auth/api_token", headers=bearer(child.json()["access_token"]))
    assert grand.json()["expires_in"] <= child.json()["expires_in"]
    sub = await _pat(client, bearer(pat["key"]), expires_in_minutes=60 * 24)
    assert sub["expires"] <= pat["expires"]
    longer = await client.patch(
        f"/users/me/api_keys/{sub['id']}",
        json={"expires_in_minutes": 60 * 24 * 30},
        headers=alice_headers,
    )
    assert longer.json()["expires"] <= pat["expires"]


async def test_a_service_account_key_ends_its_tokens(
    client: Client, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    org = await client.post("/organizations", json={"name": "lineage"}, headers=alice_headers)
    base = f"/organizations/{org.json()['id']}/service_accounts"
    await client.post(base, json={"name": "ci-bot"}, headers=alice_headers)
    key = await client.post(f"{base}/ci-bot/api_keys", json={"name": "k"}, headers=alice_headers)
    assert key.status_code == 201, key.text
    minted = await _mint(client, await _exchanged(client, key.json()["key"]))
    assert await _works(client, minted)
    r = await client.delete(f"{base}/ci-bot/api_keys/{key.json()['id']}", headers=alice_headers)
    assert r.status_code == 200
    assert not await _works(client, minted)


async def test_revoking_a_device_ends_its_tokens_and_keys(
    client: Client, db: AsyncSession, alice: User
) -> None:
    org = await make_org(db, alice)
    ws = await make_workspace(db, org)
    device = Device(
        client_id="c0ffee00-0000-4000-8000-000000000000",
        device_code_hash="x" * 64,
        user_code="ABCD-EFGH",
        status="active",
        user_id=alice.id,
        workspace_id=ws.id,
        expires=utcnow(),
    )
    db.add(device)
    await db.commit()
    issued = await auth_service.issue_token(
        db, Credential.device, timedelta(hours=1), user_id=alice.id, device_id=device.id
    )
    await db.commit()
    device_h = bearer(issued.secret)
    minted = await _mint(client, device_h)
    pat = await _pat(client, device_h)
    session = bearer(await token_for(db, alice))
    r = await client.delete(f"/users/me/devices/{device.id}", headers=session)
    assert r.status_code == 200, r.text
    for h in (device_h, minted, bearer(pat["key"])):
        assert not await _works(client, h)
    assert await _works(client, session)


async def test_logout_ends_what_the_session_minted(
    client: Client, db: AsyncSession, alice: User
) -> None:
    session = bearer(await token_for(db, alice))
    minted = await _mint(client, session)
    assert (await client.post("/auth/logout", headers=session)).status_code == 200
    assert not await _works(client, minted)


async def test_a_password_change_ends_the_other_sessions(
    client: Client, db: AsyncSession, alice: User
) -> None:
    current, other = bearer(await token_for(db, alice)), bearer(await token_for(db, alice))
    minted = await _mint(client, other)
    pat = await _pat(client, current)  # a root key: made in a session, it stays
    r = await client.patch(
        "/users/me",
        json={"old_password": PASSWORD, "password": "another-long-password-1"},
        headers=current,
    )
    assert r.status_code == 200, r.text
    assert await _works(client, current)
    assert not await _works(client, other)
    assert not await _works(client, minted)
    assert await _works(client, bearer(pat["key"]))


async def test_unrelated_users_keep_their_tokens(client: Client, db: AsyncSession) -> None:
    a, b = await make_user(db), await make_user(db)
    ha, hb = bearer(await token_for(db, a)), bearer(await token_for(db, b))
    pat = await _pat(client, ha)
    minted_b = await _mint(client, hb)
    await _delete(client, ha, pat["id"])
    assert await _works(client, minted_b)
