from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.factories import bearer, make_user, token_for
from zenpro.auth import service as auth_service
from zenpro.auth.secrets import hash_secret
from zenpro.kit.db import utcnow
from zenpro.models import APIKey, Token, User

KEYS = "/users/me/api_keys"


async def _create(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> Any:
    r = await client.post(KEYS, json={"name": "ci", **body}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def _me(client: httpx.AsyncClient, secret: str) -> int:
    return (await client.get("/users/me", headers=bearer(secret))).status_code


async def test_pat_is_shown_once_and_stored_hashed(
    client: httpx.AsyncClient, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    created = await _create(client, alice_headers, description="for CI")
    key = created["key"]
    assert key.startswith("ZENPROKEY_")
    assert len(key) >= 10 + 43
    assert created["hint"].startswith("ZENPROKEY_")
    assert key not in created["hint"]
    listed = (await client.get(KEYS, headers=alice_headers)).json()
    assert len(listed) == 1
    assert "key" not in listed[0]
    assert key not in str(listed)
    rows = (await db.execute(select(APIKey.key_hash, APIKey.hint))).all()
    await db.rollback()
    assert rows[0][0] == hash_secret(key)
    assert key not in str(rows)
    assert await _me(client, key) == 200


async def test_exchange_key_for_token(
    client: httpx.AsyncClient, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    key = (await _create(client, alice_headers))["key"]
    r = await client.post("/auth/login", data={"password": key}, headers=bearer(key))
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["expires_in"] > 300
    assert "set-cookie" not in r.headers
    assert await _me(client, body["access_token"]) == 200
    kinds = (await db.scalars(select(Token.kind))).all()
    await db.rollback()
    assert "api" in kinds
    bad = await client.post("/auth/login", data={"password": "ZENPROKEY_wrong"})
    assert bad.status_code == 401
    assert bad.json()["detail"][0] == "CredentialsNotValid"


async def test_deactivate_reactivate_delete(
    client: httpx.AsyncClient, alice_headers: dict[str, str]
) -> None:
    created = await _create(client, alice_headers)
    key, kid = created["key"], created["id"]
    token = (await client.post("/auth/login", data={"password": key})).json()["access_token"]
    r = await client.patch(f"{KEYS}/{kid}", json={"active": False}, headers=alice_headers)
    assert r.status_code == 200
    assert r.json()["active"] is False
    assert await _me(client, key) == 401
    assert await _me(client, token) == 401  # exchanged tokens end with the key
    await client.patch(f"{KEYS}/{kid}", json={"active": True, "name": "x"}, headers=alice_headers)
    assert await _me(client, key) == 200
    r = await client.delete(f"{KEYS}/{kid}", headers=alice_headers)
    assert r.status_code == 200
    assert r.json() == {}
    assert await _me(client, key) == 401
    assert (await client.delete(f"{KEYS}/{kid}", headers=alice_headers)).status_code == 404


async def test_revoking_a_key_ends_only_its_own_tokens(
    client: httpx.AsyncClient, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    first, second = await _create(client, alice_headers), await _create(client, alice_headers)

    async def exchange(key: str) -> str:
        r = await client.post("/auth/login", data={"password": key})
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    from_first, from_second = await exchange(first["key"]), await exchange(second["key"])
    scripted = (await client.get("/auth/api_token", headers=alice_headers)).json()["access_token"]
    linked = {t.api_key_id for t in await db.scalars(select(Token).where(Token.kind == "api"))}
    await db.rollback()
    assert linked == {None, uuid.UUID(first["id"]), uuid.UUID(second["id"])}
    # Each way of revoking the first key ends its tokens and nothing else of alice's.
    for revoke in ("deactivate", "rotate", "delete"):
        if revoke == "deactivate":
            r = await client.patch(
                f"{KEYS}/{first['id']}", json={"active": False}, headers=alice_headers
            )
        elif revoke == "rotate":
            r = await client.post(f"{KEYS}/{first['id']}/rotate", headers=alice_headers)
        else:
            r = await client.delete(f"{KEYS}/{first['id']}", headers=alice_headers)
        assert r.status_code == 200, r.text
        assert await _me(client, from_first) == 401, revoke
        assert await _me(client, from_second) == 200, revoke
        assert await _me(client, scripted) == 200, revoke
        if revoke == "deactivate":
            await client.patch(
                f"{KEYS}/{first['id']}", json={"active": True}, headers=alice_headers
            )
            from_first = await exchange(first["key"])
        elif revoke == "rotate":
            from_first = await exchange(r.json()["key"])


async def test_expiry(
    client: httpx.AsyncClient, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    created = await _create(client, alice_headers, expires_in_minutes=5)
    assert created["expires"] is not None
    assert await _me(client, created["key"]) == 200
    await db.execute(update(APIKey).values(expires=utcnow() - timedelta(seconds=1)))
    await db.commit()
    r = await client.get("/users/me", headers=bearer(created["key"]))
    assert r.status_code == 401
    assert "expired" in r.json()["detail"][1]


async def test_rotate_with_and_without_retention(
    client: httpx.AsyncClient, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    created = await _create(client, alice_headers)
    old, kid = created["key"], created["id"]
    r = await client.post(
        f"{KEYS}/{kid}/rotate", json={"retain_period_minutes": 10}, headers=alice_headers
    )
    assert r.status_code == 200, r.text
    new = r.json()["key"]
    assert new != old
    assert r.json()["retain_until"] is not None
    assert await _me(client, old) == 200
    assert await _me(client, new) == 200
    await db.execute(update(APIKey).values(previous_expires=utcnow() - timedelta(seconds=1)))
    await db.commit()
    assert await _me(client, old) == 401
    r = await client.post(f"{KEYS}/{kid}/rotate", headers=alice_headers)
    assert r.status_code == 200
    newer = r.json()["key"]
    assert await _me(client, new) == 401
    assert await _me(client, newer) == 200


async def test_last_used_is_throttled(
    client: httpx.AsyncClient,
    db: AsyncSession,
    alice_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = (await _create(client, alice_headers))["key"]
    assert await _me(client, key) == 200
    first = (await db.scalars(select(APIKey.last_used))).one()
    await db.rollback()
    assert first is not None
    assert await _me(client, key) == 200
    second = (await db.scalars(select(APIKey.last_used))).one()
    await db.rollback()
    assert second == first  # no write within a minute
    # Two minutes later (the clock moves, not the row): the next use writes again.
    later = utcnow() + timedelta(minutes=2)
    monkeypatch.setattr(auth_service, "utcnow", lambda: later)
    assert await _me(client, key) == 200
    third = (await db.scalars(select(APIKey.last_used))).one()
    await db.rollback()
    assert third == later


async def test_keys_are_private(
    client: httpx.AsyncClient, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    kid = (await _create(client, alice_headers))["id"]
    bob = await make_user(db, "bob")
    bob_headers = bearer(await token_for(db, bob))
    assert (await client.get(KEYS, headers=bob_headers)).json() == []
    for method in ("PATCH", "DELETE"):
        r = await client.request(method, f"{KEYS}/{kid}", json={}, headers=bob_headers)
        assert r.status_code == 404
    r = await client.post(f"{KEYS}/{kid}/rotate", headers=bob_headers)
    assert r.status_code == 404
    assert (await client.get(KEYS)).status_code == 401


async def test_deactivated_user_key_stops(
    client: httpx.AsyncClient,
    db: AsyncSession,
    alice: User,
    alice_headers: dict[str, str],
) -> None:
    key = (await _create(client, alice_headers))["key"]
    await db.execute(update(User).where(User.id == alice.id).values(is_active=False))
    await db.commit()
    assert await _me(client, key) == 401


async def test_api_token(client: httpx.AsyncClient, alice_headers: dict[str, str]) -> None:
    r = await client.get("/auth/api_token", headers=alice_headers)
    assert r.status_code == 200
    body = r.json()
    assert 3500 <= body["expires_in"] <= 3600
    assert await _me(client, body["access_token"]) == 200
    assert (await client.get("/auth/api_token")).status_code == 401


async def test_validation(client: httpx.AsyncClient, alice_headers: dict[str, str]) -> None:
    for body in ({"name": ""}, {"name": "x", "expires_in_minutes": 0}, {"name": "x", "id": "y"}):
        assert (await client.post(KEYS, json=body, headers=alice_headers)).status_code == 422
