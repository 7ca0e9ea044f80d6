from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.factories import PASSWORD, bearer, make_user, token_for
from zenpro.models import User


async def test_first_user_becomes_superuser_without_auth(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/users", json={"username": "root", "password": "long-enough-pw", "email": "r@x.io"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["is_superuser"] is True
    assert "password" not in r.json()
    assert "password_hash" not in r.text
    assert "argon2" not in r.text
    # the second anonymous create is refused
    r2 = await client.post("/users", json={"username": "second", "password": "long-enough-pw"})
    assert r2.status_code == 401


async def test_superuser_creates_users_by_json_and_by_query(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    r = await client.post(
        "/users", json={"username": "bob", "password": "long-enough-pw"}, headers=admin_headers
    )
    assert r.status_code == 201
    assert r.json()["is_superuser"] is False
    q = await client.post(
        "/users",
        params={"username": "carol", "password": "long-enough-pw", "is_superuser": "True"},
        headers=admin_headers,
    )
    assert q.status_code == 201, q.text
    assert q.json()["is_superuser"] is True
    login = await client.post(
        "/auth/login", data={"username": "carol", "password": "long-enough-pw"}
    )
    assert login.status_code == 200


@pytest.mark.parametrize(
    ("caller", "username", "status", "error"),
    [
        pytest.param("alice", "x", 403, "IllegalOperationError", id="non-superuser-cannot-create"),
        pytest.param("admin", "alice", 409, "EntityExistsError", id="duplicate-username-is-409"),
    ],
)
async def test_refused_creates(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    alice_headers: dict[str, str],
    caller: str,
    username: str,
    status: int,
    error: str,
) -> None:
    headers = {"admin": admin_headers, "alice": alice_headers}[caller]
    r = await client.post(
        "/users", json={"username": username, "password": "long-enough-pw"}, headers=headers
    )
    assert r.status_code == status
    assert r.json()["detail"][0] == error


async def test_password_length_rules(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    short = await client.post(
        "/users", json={"username": "s", "password": "short"}, headers=admin_headers
    )
    long = await client.post(
        "/users", json={"username": "l", "password": "x" * 257}, headers=admin_headers
    )
    assert short.status_code == long.status_code == 422


async def test_me_and_patch_me(client: httpx.AsyncClient, alice_headers: dict[str, str]) -> None:
    me = await client.get("/users/me", headers=alice_headers)
    assert me.status_code == 200
    body = me.json()
    for key in ("id", "username", "email", "metadata", "is_service_account", "password_expired"):
        assert key in body
    r = await client.patch(
        "/users/me", json={"name": "Alice A", "metadata": {"k": 1}}, headers=alice_headers
    )
    assert r.status_code == 200
    assert r.json()["name"] == "Alice A"
    assert r.json()["metadata"] == {"k": 1}


async def test_patch_me_refuses_privileged_fields_and_changes_nothing(
    client: httpx.AsyncClient, db: AsyncSession, alice: User, alice_headers: dict[str, str]
) -> None:
    r = await client.patch(
        "/users/me", json={"is_superuser": True, "name": "x"}, headers=alice_headers
    )
    assert r.status_code == 422
    await db.refresh(alice)
    assert alice.is_superuser is False
    assert alice.name is None


async def test_change_own_password_needs_old_one(
    client: httpx.AsyncClient, alice_headers: dict[str, str]
) -> None:
    # Without old_password the body breaks its published schema (422); a wrong one is
    # refused like a wrong credential (403). Either way the password stays.
    bad = await client.patch(
        "/users/me", json={"password": "new-password-1"}, headers=alice_headers
    )
    assert bad.status_code == 422
    assert "old_password" in bad.text
    wrong = await client.patch(
        "/users/me",
        json={"password": "new-password-1", "old_password": "not-the-password"},
        headers=alice_headers,
    )
    assert wrong.status_code == 403
    ok = await client.patch(
        "/users/me",
        json={"password": "new-password-1", "old_password": PASSWORD},
        headers=alice_headers,
    )
    assert ok.status_code == 200
    login = await client.post(
        "/auth/login", data={"username": "alice", "password": "new-password-1"}
    )
    assert login.status_code == 200


@pytest.mark.parametrize(
    ("change", "expired"),
    [
        pytest.param({"password": "admin-chosen-1"}, True, id="admin-set-password-expires-it"),
        pytest.param({"is_active": False}, False, id="deactivation"),
    ],
)
async def test_an_admin_change_ends_the_users_sessions_at_once(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    alice: User,
    alice_headers: dict[str, str],
    change: dict[str, object],
    expired: bool,
) -> None:
    assert (await client.get("/users/me", headers=alice_headers)).status_code == 200
    r = await client.patch(f"/users/{alice.id}", json=change, headers=admin_headers)
    assert r.status_code == 200
    assert r.json()["password_expired"] is expired
    assert (await client.get("/users/me", headers=alice_headers)).status_code == 401


async def test_delete_user_kills_sessions(
    client: httpx.AsyncClient,
    db: AsyncSession,
    admin_headers: dict[str, str],
    alice: User,
    alice_headers: dict[str, str],
) -> None:
    r = await client.delete(f"/users/{alice.id}", headers=admin_headers)
    assert r.status_code == 200
    assert r.json() == {}
    assert (await client.get("/users/me", headers=alice_headers)).status_code == 401
    assert (await db.scalar(select(User).where(User.username == "alice"))) is None


async def test_last_superuser_cannot_be_removed(
    client: httpx.AsyncClient, admin: User, admin_headers: dict[str, str]
) -> None:
    r = await client.patch(f"/users/{admin.id}", json={"is_active": False}, headers=admin_headers)
    assert r.status_code == 409


async def test_strangers_do_not_see_each_other(
    client: httpx.AsyncClient, db: AsyncSession, alice: User, alice_headers: dict[str, str]
) -> None:
    bob = await make_user(db, "bob")
    assert (await client.get(f"/users/{bob.id}", headers=alice_headers)).status_code == 404
    listed = (await client.get("/users", headers=alice_headers)).json()
    assert [u["username"] for u in listed] == ["alice"]


async def test_superuser_lists_all_with_paging_headers(
    client: httpx.AsyncClient, db: AsyncSession, admin_headers: dict[str, str]
) -> None:
    for i in range(3):
        await make_user(db, f"u{i}")
    r = await client.get("/users", params={"limit": 2}, headers=admin_headers)
    assert r.status_code == 200
    assert isinstance(r.json(), list)
    assert len(r.json()) == 2
    assert r.headers["x-total-count"] == "4"
    assert 'rel="next"' in r.headers["link"]
    assert "cursor=" in r.headers["link"]
    assert "offset" not in r.headers["link"]
    last = await client.get("/users", params={"offset": 2, "limit": 2}, headers=admin_headers)
    assert "link" not in last.headers
    nxt = r.headers["link"].split(";")[0].strip("<>")
    by_cursor = await client.get(nxt, headers=admin_headers)
    assert by_cursor.json() == last.json()
    assert "link" not in by_cursor.headers
    filtered = await client.get(
        "/users", params={"username": "u1", "is_service_account": "False"}, headers=admin_headers
    )
    assert [u["username"] for u in filtered.json()] == ["u1"]


async def test_non_superuser_cannot_patch_others(
    client: httpx.AsyncClient, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    bob = await make_user(db, "bob")
    token = await token_for(db, bob)
    r = await client.patch(f"/users/{bob.id}", json={"name": "x"}, headers=alice_headers)
    assert r.status_code == 403
    assert (await client.get("/users/me", headers=bearer(token))).status_code == 200
