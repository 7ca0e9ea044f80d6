"""Security headers, cookies and CORS (issue 8)."""

from __future__ import annotations

import base64
import hashlib
import re
import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.authz.test_route_guards import api_routes
from tests.conftest import BASE_URL
from tests.fixtures.factories import PASSWORD, bearer, make_user, token_for
from tests.support.apps import other_app
from zenpro.config import Settings

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
EVIL = "https://evil.example"


def _assert_base_headers(r: httpx.Response) -> None:
    where = f"{r.request.method} {r.request.url.path} → {r.status_code}"
    assert r.headers.get("x-content-type-options") == "nosniff", where
    assert r.headers.get("referrer-policy") == "no-referrer", where
    assert r.headers.get("x-frame-options") == "DENY", where


async def test_every_route_answers_with_security_headers(
    app: FastAPI, client: httpx.AsyncClient, alice_headers: dict[str, str]
) -> None:
    fake = str(uuid.uuid4())
    seen = 0
    for route in api_routes(app):
        path = re.sub(r"\{\w+\}", fake, route.path)
        for method in route.methods:
            for headers in ({}, alice_headers):
                _assert_base_headers(await client.request(method, path, headers=headers))
                seen += 1
    assert seen > 150
    # Not routes: static assets, the schema, an unknown path, a wrong method, a 413.
    for method, path in (
        ("GET", "/docs-assets/swagger-ui.css"),
        ("GET", "/openapi.json"),
        ("GET", "/no-such-page"),
        ("PUT", "/health"),
    ):
        _assert_base_headers(await client.request(method, path))
    _assert_base_headers(await client.post("/organizations", content=b"x" * 2_000_000))


@pytest.mark.parametrize("path", ["/login", "/devices/verify?user_code=ABCD-EFGH"])
async def test_html_pages_have_a_strict_csp_and_no_store(
    client: httpx.AsyncClient, db: AsyncSession, path: str
) -> None:
    user = await make_user(db)
    r = await client.get(path, headers={"Cookie": f"zenpro_session={await token_for(db, user)}"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src" not in csp  # the pages run no script at all
    assert r.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_docs_pages_allow_only_their_own_assets(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "http" not in csp  # no CDN
    assert "unsafe-eval" not in csp
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src
    for inline in re.findall(rb"<script>(.*?)</script>", r.content, re.DOTALL):
        digest = base64.b64encode(hashlib.sha256(inline).digest()).decode()
        assert f"'sha256-{digest}'" in script_src
    # Every asset the page loads is served by zenpro itself.
    for url in re.findall(r'(?:src|href)="([^"]+)"', r.text):
        assert url.startswith("/"), url
        assert (await client.get(url)).status_code == 200, url


async def test_login_pages_and_token_responses_are_not_stored(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await make_user(db)
    r = await client.post("/auth/login", data={"username": user.username, "password": PASSWORD})
    assert r.status_code == 200
    assert "no-store" in r.headers["cache-control"]
    r = await client.get("/auth/api_token", headers=bearer(r.json()["access_token"]))
    assert r.status_code == 200
    assert "no-store" in r.headers["cache-control"]
    for data in (
        {"username": user.username, "password": PASSWORD},
        {"username": "x", "password": "y"},
    ):
        r = await client.post("/login", data=data)
        assert r.status_code in (303, 401)
        assert r.headers["cache-control"] == "no-store"
    r = await client.post("/auth/device_authorization", data={"client_id": str(uuid.uuid4())})
    assert r.status_code == 200
    assert "no-store" in r.headers.get("cache-control", ""), r.headers
    # Error answers of the token endpoints are not stored either (RFC 6749 5.2).
    for data in (
        {"username": user.username, "password": "wrong password"},  # 401
        {"grant_type": "nonsense"},  # 400, OAuth error
        {"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"},
        {"username": "x" * 300, "password": "y"},  # 422
    ):
        r = await client.post("/auth/login", data=data)
        assert r.status_code in (400, 401, 403, 422), (data, r.status_code)
        assert "no-store" in r.headers.get("cache-control", ""), (r.status_code, r.headers)
    client.cookies.clear()  # the password login above set a session cookie
    r = await client.get("/auth/api_token")
    assert r.status_code == 401
    assert "no-store" in r.headers.get("cache-control", "")


def _session_cookie(r: httpx.Response) -> str:
    cookies = [
        v for k, v in r.headers.multi_items() if k == "set-cookie" and "zenpro_session=" in v
    ]
    assert len(cookies) == 1, r.headers
    return cookies[0].lower()


@pytest.mark.parametrize("path", ["/auth/login", "/login"])
async def test_session_cookie_is_httponly_lax_and_not_secure_over_http(
    client: httpx.AsyncClient, db: AsyncSession, path: str
) -> None:
    user = await make_user(db)
    r = await client.post(path, data={"username": user.username, "password": PASSWORD})
    cookie = _session_cookie(r)
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/" in cookie
    assert "secure" not in cookie.replace("httponly", "")


@pytest.mark.parametrize(
    "overrides",
    [{"base_url": "https://zenpro.example"}, {"cookie_secure": True}],
    ids=["https-base-url", "cookie_secure"],
)
async def test_session_cookie_is_secure_over_https(
    database_url: str, db: AsyncSession, overrides: dict[str, object]
) -> None:
    user = await make_user(db)
    async with other_app(database_url, **overrides) as c:
        r = await c.post("/auth/login", data={"username": user.username, "password": PASSWORD})
    cookie = _session_cookie(r)
    assert "; secure" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie


async def test_cors_is_off_by_default(
    client: httpx.AsyncClient, alice_headers: dict[str, str]
) -> None:
    r = await client.get("/users/me", headers={**alice_headers, "Origin": EVIL})
    assert r.status_code == 200
    assert not any(k.startswith("access-control-") for k in r.headers)
    r = await client.options(
        "/users/me", headers={"Origin": EVIL, "Access-Control-Request-Method": "GET"}
    )
    assert not any(k.startswith("access-control-") for k in r.headers)


def test_cors_origins_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZENPRO_CORS_ORIGINS", '["https://ui.example"]')
    assert Settings(env="test").cors_origins == ["https://ui.example"]


async def test_cors_allow_list_when_configured(database_url: str, db: AsyncSession) -> None:
    user = await make_user(db)
    h = bearer(await token_for(db, user))
    ui = "https://ui.example"
    async with other_app(database_url, cors_origins=[ui]) as c:
        r = await c.get("/users/me", headers={**h, "Origin": ui})
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == ui
        assert r.headers["access-control-allow-credentials"] == "true"
        assert "x-total-count" in r.headers["access-control-expose-headers"].lower()
        _assert_base_headers(r)
        pre = await c.options(
            "/organizations",
            headers={
                "Origin": ui,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert pre.status_code == 200
        assert pre.headers["access-control-allow-origin"] == ui
        assert "POST" in pre.headers["access-control-allow-methods"]
        # Any other origin gets no CORS grant, simple request or preflight.
        r = await c.get("/users/me", headers={**h, "Origin": EVIL})
        assert "access-control-allow-origin" not in r.headers
        pre = await c.options(
            "/organizations", headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"}
        )
        assert pre.status_code == 400
        assert "access-control-allow-origin" not in pre.headers


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        ({"Origin": EVIL}, 403),
        ({"Sec-Fetch-Site": "cross-site", "Origin": EVIL}, 403),
        ({"Referer": EVIL + "/page"}, 403),
        ({}, 403),  # a cookie write must prove where it comes from
        ({"Origin": BASE_URL}, 201),
        ({"Sec-Fetch-Site": "same-origin"}, 201),
    ],
)
async def test_cross_origin_cookie_post_is_refused(
    client: httpx.AsyncClient, db: AsyncSession, extra: dict[str, str], status: int
) -> None:
    user = await make_user(db)
    r = await client.post(
        "/organizations",
        json={"name": f"o-{uuid.uuid4().hex[:8]}"},
        headers={"Cookie": f"zenpro_session={await token_for(db, user)}", **extra},
    )
    assert r.status_code == status, r.text
    if status == 403:
        assert (
            await client.get("/organizations", headers=bearer(await token_for(db, user)))
        ).json() == []
