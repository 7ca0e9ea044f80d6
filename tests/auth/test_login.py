from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.factories import PASSWORD, bearer, make_user
from zenpro.auth.secrets import hash_secret
from zenpro.models import Token, User


async def _login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post("/auth/login", data={"username": username, "password": password})


async def test_password_login_returns_token_and_cookie(
    client: httpx.AsyncClient, alice: User
) -> None:
    r = await _login(client, "alice", PASSWORD)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert 0 < body["expires_in"] <= 3600
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert r.headers["cache-control"] == "no-store"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    me = await client.get("/users/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["username"] == "alice"


async def test_cookie_authenticates(client: httpx.AsyncClient, alice: User) -> None:
    r = await _login(client, "alice", PASSWORD)
    assert r.status_code == 200
    # httpx keeps the cookie for the next call
    me = await client.get("/users/me")
    assert me.status_code == 200
    assert me.json()["username"] == "alice"


async def test_token_is_stored_hashed(
    client: httpx.AsyncClient, db: AsyncSession, alice: User
) -> None:
    token = (await _login(client, "alice", PASSWORD)).json()["access_token"]
    assert len(token) >= 50
    rows = (await db.scalars(select(Token.token_hash))).all()
    assert hash_secret(token) in rows
    assert token not in rows


async def test_each_login_gets_a_new_session(client: httpx.AsyncClient, alice: User) -> None:
    a = (await _login(client, "alice", PASSWORD)).json()["access_token"]
    b = (await _login(client, "alice", PASSWORD)).json()["access_token"]
    assert a != b


async def test_unknown_user_and_wrong_password_look_alike(
    client: httpx.AsyncClient, alice: User
) -> None:
    wrong = await _login(client, "alice", "not-the-password")
    unknown = await _login(client, "nobody", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["detail"][0] == "CredentialsNotValid"
    assert wrong.headers["www-authenticate"] == "Bearer"


async def test_inactive_user_cannot_log_in(client: httpx.AsyncClient, db: AsyncSession) -> None:
    await make_user(db, "bob", active=False)
    assert (await _login(client, "bob", PASSWORD)).status_code == 401


async def test_no_credentials_gives_401_with_www_authenticate(client: httpx.AsyncClient) -> None:
    r = await client.get("/users/me")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["detail"][0] == "CredentialsNotValid"


async def test_garbage_token_gives_401(client: httpx.AsyncClient) -> None:
    r = await client.get("/users/me", headers=bearer("zps_nope"))
    assert r.status_code == 401


async def test_logout_revokes_the_session(client: httpx.AsyncClient, alice: User) -> None:
    token = (await _login(client, "alice", PASSWORD)).json()["access_token"]
    client.cookies.clear()
    r = await client.post("/auth/logout", headers=bearer(token))
    assert r.status_code == 200
    assert r.json() == {}
    assert (await client.get("/users/me", headers=bearer(token))).status_code == 401


async def test_unsupported_grant_is_an_oauth_error(client: httpx.AsyncClient) -> None:
    r = await client.post("/auth/login", data={"grant_type": "implicit"})
    assert r.status_code == 400
    assert set(r.json()) <= {"error", "error_description", "error_uri", "status_code"}
    assert r.json()["error"] == "unsupported_grant_type"


async def test_cross_origin_cookie_write_is_refused(client: httpx.AsyncClient, alice: User) -> None:
    assert (await _login(client, "alice", PASSWORD)).status_code == 200
    evil = await client.patch(
        "/users/me", json={"name": "pwned"}, headers={"Origin": "https://evil.example"}
    )
    assert evil.status_code == 403
    no_origin = await client.patch("/users/me", json={"name": "pwned"})
    assert no_origin.status_code == 403
    same = await client.patch(
        "/users/me", json={"name": "Alice"}, headers={"Origin": "http://testserver"}
    )
    assert same.status_code == 200
    assert same.json()["name"] == "Alice"


async def test_sessions_list_and_revoke(client: httpx.AsyncClient, alice: User) -> None:
    t1 = (await _login(client, "alice", PASSWORD)).json()["access_token"]
    t2 = (await _login(client, "alice", PASSWORD)).json()["access_token"]
    client.cookies.clear()
    sessions = (await client.get("/users/me/sessions", headers=bearer(t1))).json()
    assert len(sessions) == 2
    current = [s for s in sessions if s["current"]]
    other = [s for s in sessions if not s["current"]]
    assert len(current) == 1
    assert len(other) == 1
    r = await client.delete(f"/users/me/sessions/{other[0]['id']}", headers=bearer(t1))
    assert r.status_code == 200
    assert (await client.get("/users/me", headers=bearer(t2))).status_code == 401
    assert (await client.get("/users/me", headers=bearer(t1))).status_code == 200


async def test_cannot_revoke_someone_elses_session(
    client: httpx.AsyncClient, db: AsyncSession, alice: User
) -> None:
    await make_user(db, "bob")
    tb = (await _login(client, "bob", PASSWORD)).json()["access_token"]
    ta = (await _login(client, "alice", PASSWORD)).json()["access_token"]
    client.cookies.clear()
    bob_session = (await client.get("/users/me/sessions", headers=bearer(tb))).json()[0]["id"]
    r = await client.delete(f"/users/me/sessions/{bob_session}", headers=bearer(ta))
    assert r.status_code == 404
    assert (await client.get("/users/me", headers=bearer(tb))).status_code == 200


async def test_login_page_renders_and_form_login_redirects(
    client: httpx.AsyncClient, alice: User
) -> None:
    page = await client.get("/login")
    assert page.status_code == 200
    assert "<form" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    r = await client.post(
        "/login", data={"username": "alice", "password": PASSWORD, "next": "/docs"}
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/docs"
    assert (await client.get("/users/me")).status_code == 200


async def test_login_page_refuses_open_redirects(client: httpx.AsyncClient, alice: User) -> None:
    for target in ("https://evil.example", "//evil.example", "/\\evil.example"):
        r = await client.post(
            "/login", data={"username": "alice", "password": PASSWORD, "next": target}
        )
        assert r.status_code == 303
        assert r.headers["location"] == "/console"  # the default, never the target


async def test_login_page_wrong_password_shows_error(
    client: httpx.AsyncClient, alice: User
) -> None:
    r = await client.post("/login", data={"username": "alice", "password": "wrong-password"})
    assert r.status_code == 401
    assert "Invalid username or password" in r.text
