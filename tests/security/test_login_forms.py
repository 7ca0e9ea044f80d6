"""Issue 12: the login limiter cannot be sidestepped, and logins cannot be forged cross-site.

The limiter and the login endpoints read one parse of the form (``zenpro.ratelimit.forms``):
a repeated field is refused (400), and the login paths take only urlencoded forms (415).
Cross-site login posts are refused (403). Made-up Bearer tokens spend the anonymous budget
of their IP before they are served, on public pages too.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.factories import PASSWORD, bearer, make_user
from tests.ratelimit.conftest import AppFactory, client_for

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
OAUTH_KEYS = {"error", "error_description", "error_uri", "status_code"}
LIMITS = {"ratelimit_login_ip": "100/minute", "ratelimit_login_account": "3/minute"}


async def _post_form(c: httpx.AsyncClient, path: str, body: str, **headers: str) -> httpx.Response:
    return await c.post(path, content=body.encode(), headers={**FORM, **headers})


def _assert_oauth(r: httpx.Response, status: int, *words: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) <= OAUTH_KEYS, body  # the ZenML client accepts only these keys
    for word in words:
        assert word in body["error_description"], body
    assert "set-cookie" not in r.headers


# --- one parse, shared: repeated fields ------------------------------------------------


async def test_repeated_username_from_many_ips_never_reaches_the_password_check(
    make_app: AppFactory,
) -> None:
    """Before: the limiter counted the first (decoy) name, the endpoint checked the last
    (victim) one: 30 IPs, 30 times 401, no 429."""
    app = await make_app(**LIMITS)
    async with app.state.sessionmaker() as db:
        await make_user(db, "victim")
    statuses = []
    for i in range(30):
        async with client_for(app, f"10.12.0.{i}") as c:
            body = f"username=decoy{i}&username=victim&password=guess{i}"
            r = await _post_form(c, "/auth/login", body)
        statuses.append(r.status_code)
        if r.status_code == 400:
            _assert_oauth(r, 400, "username", "more than once")
    assert 401 not in statuses
    assert set(statuses) <= {400, 429}
    # The victim's own bucket was never charged by the decoys: a real login still works.
    async with client_for(app, "10.12.1.1") as c:
        r = await c.post("/auth/login", data={"username": "victim", "password": PASSWORD})
    assert r.status_code == 200, r.text


async def test_one_account_from_many_ips_is_throttled_whatever_the_field_order(
    make_app: AppFactory,
) -> None:
    app = await make_app(**LIMITS)
    statuses = []
    for i in range(4):
        async with client_for(app, f"10.12.2.{i}") as c:
            r = await _post_form(c, "/auth/login", f"password=guess{i}&username=Victim")
        statuses.append(r.status_code)
    assert statuses == [401, 401, 401, 429]


async def test_repeated_grant_type_counts_as_a_login_attempt(make_app: AppFactory) -> None:
    """Before: ``grant_type=client_credentials&grant_type=password`` was counted as a
    machine login (anonymous budget, 120/min) and served as a password login."""
    app = await make_app(ratelimit_login_ip="4/minute", ratelimit_anonymous="100/minute")
    body = "grant_type=client_credentials&grant_type=password&username=victim&password=x"
    async with client_for(app, "10.12.3.1") as c:
        answers = [await _post_form(c, "/auth/login", body) for _ in range(5)]
    for r in answers[:4]:
        _assert_oauth(r, 400, "grant_type", "more than once")
    assert answers[4].status_code == 429
    assert "(login-ip)" in answers[4].json()["detail"]


async def test_repeated_fields_are_refused_with_the_limiter_off(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """The endpoint parses with the same function when no limiter stored a parse."""
    await make_user(db, "victim")
    body = f"username=decoy&username=victim&password={PASSWORD}"
    _assert_oauth(await _post_form(client, "/auth/login", body), 400, "'username'")
    page = await _post_form(client, "/login", body)
    assert page.status_code == 400
    assert page.headers["content-type"].startswith("text/html")
    assert "more than once" in page.text
    assert "<form" in page.text
    assert "set-cookie" not in page.headers
    repeated = f"client_id={uuid.uuid4()}&client_id={uuid.uuid4()}"
    _assert_oauth(await _post_form(client, "/auth/device_authorization", repeated), 400, "once")


async def test_html_login_with_a_repeated_field_is_limited(make_app: AppFactory) -> None:
    app = await make_app(ratelimit_login_ip="3/minute")
    async with client_for(app, "10.12.4.1") as c:
        for i in range(3):
            r = await _post_form(c, "/login", f"username=d{i}&username=carol&password=x")
            assert r.status_code == 400, r.text
            assert "more than once" in r.text
        r = await _post_form(c, "/login", "username=d9&username=carol&password=x")
    assert r.status_code == 429


# --- one parse, shared: content types --------------------------------------------------


async def test_multipart_login_is_refused_from_every_ip(make_app: AppFactory) -> None:
    """Before: the limiter read only urlencoded bodies, so a multipart login carried no
    account: 30 IPs, 30 times 401, no 429."""
    app = await make_app(**LIMITS)
    async with app.state.sessionmaker() as db:
        await make_user(db, "victim")
    for i in range(12):
        async with client_for(app, f"10.12.5.{i}") as c:
            r = await c.post(
                "/auth/login",
                data={"username": "victim", "password": f"guess{i}"},
                files={"unused": ("a.txt", b"x")},
            )
        _assert_oauth(r, 415, "application/x-www-form-urlencoded")


@pytest.mark.parametrize(
    ("path", "html"),
    [("/auth/login", False), ("/login", True), ("/auth/device_authorization", False)],
)
@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data; boundary=x", "application/json", "text/plain"],
)
async def test_login_paths_take_only_urlencoded_forms(
    client: httpx.AsyncClient, path: str, html: bool, content_type: str
) -> None:
    body = b'--x\r\nContent-Disposition: form-data; name="client_id"\r\n\r\nabc\r\n--x--\r\n'
    r = await client.post(path, content=body, headers={"Content-Type": content_type})
    assert r.status_code == 415, r.text
    if html:
        assert r.headers["content-type"].startswith("text/html")
        assert "application/x-www-form-urlencoded" in r.text
    else:
        _assert_oauth(r, 415, "application/x-www-form-urlencoded")


async def test_multipart_device_authorization_is_refused(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/auth/device_authorization",
        data={"client_id": str(uuid.uuid4())},
        files={"unused": ("a.txt", b"x")},
    )
    _assert_oauth(r, 415, "application/x-www-form-urlencoded")


async def test_urlencoded_logins_still_work(client: httpx.AsyncClient, db: AsyncSession) -> None:
    """The shapes real clients send: requests' ``data=``, a charset parameter, a Bearer-only
    API key exchange without a body, the device flow."""
    user = await make_user(db, "formuser")
    r = await client.post("/auth/login", data={"username": user.username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    client.cookies.clear()
    r = await client.post(
        "/auth/login",
        content=f"username={user.username}&password={PASSWORD}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"},
    )
    assert r.status_code == 200, r.text
    client.cookies.clear()
    key = await client.post("/users/me/api_keys", json={"name": "k"}, headers=bearer(token))
    raw = key.json()["key"]
    r = await client.post("/auth/login", data={"password": raw}, headers=bearer(raw))
    assert r.status_code == 200, r.text
    r = await client.post("/auth/login", headers=bearer(raw))
    assert r.status_code == 200, r.text
    r = await client.post("/auth/device_authorization", data={"client_id": str(uuid.uuid4())})
    assert r.status_code == 200, r.text
    r = await client.post("/auth/login", data={"username": "x" * 300, "password": "y"})
    assert 400 <= r.status_code < 500
    assert set(r.json()) <= OAUTH_KEYS or "detail" in r.json()


def test_openapi_still_documents_the_login_forms(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    for path, fields in (
        ("/auth/login", {"username", "password", "grant_type", "client_id", "device_code"}),
        ("/login", {"username", "password", "next"}),
        ("/auth/device_authorization", {"client_id", "device_id"}),
    ):
        content = paths[path]["post"]["requestBody"]["content"]
        assert list(content) == ["application/x-www-form-urlencoded"], path
        schema = content["application/x-www-form-urlencoded"]["schema"]
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            schema = app.openapi()["components"]["schemas"][name]
        assert fields <= set(schema["properties"]), (path, schema)
    responses = paths["/auth/login"]["post"]["responses"]
    assert {"400", "403", "415"} <= set(responses)


# --- login CSRF -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.com"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://sub.testserver"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.com"},
    ],
    ids=["evil-origin", "null-origin", "cross-site", "same-site", "both"],
)
async def test_cross_site_login_posts_are_refused(
    client: httpx.AsyncClient, db: AsyncSession, headers: dict[str, str]
) -> None:
    """Before: 303 / 200 with a session cookie, so a page elsewhere could sign a victim's
    browser into the attacker's account."""
    user = await make_user(db)
    data = {"username": user.username, "password": PASSWORD}
    page = await client.post("/login", data=data, headers=headers)
    assert page.status_code == 403, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "another site" in page.text
    assert "set-cookie" not in page.headers
    api = await client.post("/auth/login", data=data, headers=headers)
    _assert_oauth(api, 403, "another site")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Origin": "http://testserver"},
        {"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"},
        {"Sec-Fetch-Site": "none"},
    ],
    ids=["no-browser-headers", "same-origin", "fetch-same-origin", "typed-url"],
)
async def test_same_origin_and_non_browser_logins_work(
    client: httpx.AsyncClient, db: AsyncSession, headers: dict[str, str]
) -> None:
    user = await make_user(db)
    data = {"username": user.username, "password": PASSWORD}
    page = await client.post("/login", data=data, headers=headers)
    assert page.status_code == 303, page.text
    assert "zenpro_session=" in page.headers["set-cookie"]
    client.cookies.clear()
    api = await client.post("/auth/login", data=data, headers=headers)
    assert api.status_code == 200, api.text


# --- made-up Bearer tokens on anonymous-capable routes ---------------------------------


async def test_fresh_fake_bearers_on_a_public_page_spend_the_anonymous_budget(
    make_app: AppFactory,
) -> None:
    """Before: each made-up token got a fresh bucket, and a public page answers 200 (not
    401) to it, so nothing was ever counted against the IP."""
    app = await make_app(ratelimit_anonymous="3/minute")
    async with client_for(app, "10.12.6.1") as c:
        for i in range(3):
            r = await c.get("/login", headers=bearer(f"zps_made-up-{i}"))
            assert r.status_code == 200
        r = await c.get("/login", headers=bearer("zps_made-up-new"))
    assert r.status_code == 429, r.text
    assert "(anonymous)" in r.json()["detail"]
    assert r.headers["ratelimit-policy"] == '"anonymous";q=3;w=60'
    # Another IP is not affected.
    async with client_for(app, "10.12.6.2") as c:
        assert (await c.get("/login", headers=bearer("zps_made-up-x"))).status_code == 200


async def test_fake_machine_tokens_do_not_get_the_machine_budget_for_free(
    make_app: AppFactory,
) -> None:
    app = await make_app(ratelimit_anonymous="2/minute", ratelimit_machine="1000/minute")
    async with client_for(app, "10.12.6.3") as c:
        statuses = [
            (await c.get("/users/me", headers=bearer(f"zpm_fake-{i}"))).status_code
            for i in range(4)
        ]
    assert statuses == [401, 401, 429, 429]


async def test_real_credentials_keep_their_own_budget(make_app: AppFactory) -> None:
    """A genuine credential is known to the limiter (from the credential cache, or because
    it was resolved before), so it does not spend the IP's anonymous budget, also after
    the caches are emptied by an unrelated change."""
    app = await make_app(ratelimit_anonymous="3/minute", ratelimit_default="100/minute")
    async with app.state.sessionmaker() as db:
        user = await make_user(db)
    async with client_for(app, "10.12.7.1") as c:
        login = await c.post("/auth/login", data={"username": user.username, "password": PASSWORD})
        token = login.json()["access_token"]
        c.cookies.clear()
        for i in range(10):
            if i == 5:
                app.state.cache.moved(("auth", "grants"))
            r = await c.get("/users/me", headers=bearer(token))
            assert r.status_code == 200, (i, r.text)
            assert r.headers["ratelimit-policy"] == '"default";q=100;w=60'
        # The anonymous budget of that IP is still there for made-up tokens.
        assert (await c.get("/login", headers=bearer("zps_fake"))).status_code == 200
