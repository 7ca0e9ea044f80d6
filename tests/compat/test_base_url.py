"""The self-hosted base URL: every path at the root and under ``/api/v1`` (spec §1).

Both forms are one API: the same sessions, rate budgets, caches and answers, and URLs the
server builds (paging links, redirects) keep the form the client used.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import BASE_URL
from tests.fixtures import authz as authz_fix
from tests.fixtures.authz import make_enrolled_workspace, make_org, member_of
from tests.fixtures.factories import PASSWORD, bearer, make_user, token_for
from tests.ratelimit import conftest as ratelimit_fixtures
from tests.ratelimit.conftest import AppFactory, client_for
from zenpro.authz.vocabulary import SYSTEM_ROLE_BY_NAME
from zenpro.models import Device, User

make_app = ratelimit_fixtures.make_app  # apps with rate limiting on (tests/ratelimit)
PREFIX = "/api/v1"
BASES = ["", PREFIX]
GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SAME_ORIGIN = {"Origin": BASE_URL}


@pytest.mark.parametrize("base", BASES, ids=["root", "api-v1"])
async def test_password_login_then_users_me(
    client: httpx.AsyncClient, alice: User, base: str
) -> None:
    r = await client.post(f"{base}/auth/login", data={"username": "alice", "password": PASSWORD})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"  # /auth/ answers, either form
    token = r.json()["access_token"]
    me = await client.get(f"{base}/users/me", headers=bearer(token))
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "alice"
    assert me.headers["x-content-type-options"] == "nosniff"
    assert me.headers["x-request-id"]


async def test_a_session_from_one_form_works_in_the_other(
    client: httpx.AsyncClient, alice: User
) -> None:
    r = await client.post(f"{PREFIX}/auth/login", data={"username": "alice", "password": PASSWORD})
    assert r.status_code == 200, r.text
    cookie = r.headers["set-cookie"]
    assert re.search(r"[Pp]ath=/(;|$)", cookie), cookie  # not /api/v1
    token = r.json()["access_token"]
    assert (await client.get("/users/me", headers=bearer(token))).json()["username"] == "alice"
    # The cookie alone authenticates both forms.
    assert (await client.get("/users/me")).status_code == 200
    assert (await client.get(f"{PREFIX}/users/me")).status_code == 200
    out = await client.post("/auth/logout", headers=bearer(token))
    assert out.status_code == 200, out.text
    assert (await client.get(f"{PREFIX}/users/me", headers=bearer(token))).status_code == 401


@pytest.mark.parametrize("base", BASES, ids=["root", "api-v1"])
async def test_paging_link_keeps_the_base(
    client: httpx.AsyncClient, db: AsyncSession, admin_headers: dict[str, str], base: str
) -> None:
    for _ in range(2):
        await make_user(db)
    r = await client.get(f"{base}/users", params={"limit": 1}, headers=admin_headers)
    assert r.status_code == 200, r.text
    assert int(r.headers["x-total-count"]) == 3
    link = re.fullmatch(r'<([^>]+)>; rel="next"', r.headers["link"])
    assert link, r.headers["link"]
    url = urlsplit(link[1])
    assert url.path == f"{base}/users"
    query = parse_qs(url.query)
    assert query.keys() == {"limit", "cursor"}
    assert query["limit"] == ["1"]
    nxt = await client.get(link[1], headers=admin_headers)
    assert nxt.status_code == 200
    assert [u["id"] for u in nxt.json()] != [u["id"] for u in r.json()]


async def test_trailing_slash_redirect_keeps_the_base(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    r = await client.get(f"{PREFIX}/users/", headers=admin_headers)
    assert r.status_code == 307
    assert r.headers["location"] == f"{BASE_URL}{PREFIX}/users"


async def test_check_permissions_through_the_fast_lane_from_both_bases(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI, alice: User
) -> None:
    org = await authz_fix.make_org(db, alice)
    ws = await authz_fix.make_workspace(db, org)
    bob = await make_user(db, "bob")
    await authz_fix.assign(
        db, SYSTEM_ROLE_BY_NAME["Workspace Viewer"].id, org, user=bob, workspace=ws
    )
    machine = bearer(await authz_fix.machine_token(db, ws))
    params = {"user_id": str(bob.id), "action": "read"}
    sid = f"stack/{uuid.uuid4()}"

    async def check(base: str) -> httpx.Response:
        return await client.post(
            f"{base}/rbac/check_permissions", params=params, json=[sid], headers=machine
        )

    first = await check("")
    assert first.status_code == 200, first.text
    assert first.json() == {sid: True}
    # Warm now: the prefixed form is answered by the same fast lane from the same caches.
    served = app.state.fastlane_served
    r = await check(PREFIX)
    assert r.status_code == 200, r.text
    assert r.json() == {sid: True}
    assert app.state.fastlane_served == served + 1
    assert (await check("")).json() == {sid: True}
    assert app.state.fastlane_served == served + 2
    me = await client.get(f"{PREFIX}/users/me", headers=bearer(await token_for(db, bob)))
    assert me.status_code == 200


@pytest.mark.parametrize("base", BASES, ids=["root", "api-v1"])
async def test_not_found_in_the_api_shape(
    client: httpx.AsyncClient, admin_headers: dict[str, str], base: str
) -> None:
    r = await client.get(f"{base}/workspaces/{uuid.uuid4()}", headers=admin_headers)
    assert r.status_code == 404
    detail = r.json()["detail"]
    assert detail[0] == "KeyError"
    assert isinstance(detail[1], str)
    unknown = await client.get(f"{base}/no-such-path", headers=admin_headers)
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "Not Found"}


@pytest.mark.parametrize(
    "path",
    [PREFIX, f"{PREFIX}/", "/api/v10/users/me", "/api/v1x/users/me", f"{PREFIX}{PREFIX}/users/me"],
)
async def test_only_the_exact_prefix_is_an_alias(
    client: httpx.AsyncClient, admin_headers: dict[str, str], path: str
) -> None:
    r = await client.get(path, headers=admin_headers)
    assert r.status_code == 404, r.text
    assert r.json() == {"detail": "Not Found"}


async def test_one_openapi_document_that_names_the_alias(client: httpx.AsyncClient) -> None:
    root = await client.get("/openapi.json")
    assert root.status_code == 200
    doc = root.json()
    assert PREFIX in doc["info"]["description"]
    assert "alias" in doc["info"]["description"]
    assert "servers" not in doc
    assert not [p for p in doc["paths"] if p.startswith(PREFIX)]
    # Served under the prefix too, and it is the very same document.
    assert (await client.get(f"{PREFIX}/openapi.json")).json() == doc
    for path in ("/docs", "/health", "/ready", "/metrics", "/docs-assets/swagger-ui.css"):
        r = await client.get(path)
        assert r.status_code == 200, (path, r.status_code)


async def test_device_login_through_the_prefix(
    client: httpx.AsyncClient, db: AsyncSession, alice: User
) -> None:
    """What `zenml login --pro-api-url <zenpro>/api/v1` does: start the flow under the
    prefix, open `<api url> + verification_uri_complete`, sign in, approve, poll. The
    browser stays under the prefix throughout: every redirect, link and form action the
    pages give it keeps `/api/v1` (they are built from the request's root path)."""
    owner = await make_user(db, "owner")
    org = await make_org(db, owner)
    ws, _ = await make_enrolled_workspace(db, org, owner, "ws1")
    await member_of(db, alice, org, ws)
    cid = str(uuid.uuid4())
    r = await client.post(f"{PREFIX}/auth/device_authorization", data={"client_id": cid})
    assert r.status_code == 200, r.text
    flow = r.json()
    assert flow["verification_uri"].startswith("/")
    page_url = PREFIX + flow["verification_uri_complete"]  # as the CLI resolves it

    r = await client.get(page_url)
    assert r.status_code == 303
    login = urlsplit(r.headers["location"])
    assert login.path == f"{PREFIX}/login"
    login_page = await client.get(r.headers["location"])
    assert login_page.status_code == 200
    assert 'name="username"' in login_page.text
    assert f'action="{PREFIX}/login"' in login_page.text
    nxt = parse_qs(login.query)["next"][0]
    assert nxt == page_url
    r = await client.post(login.path, data={"username": "alice", "password": PASSWORD, "next": nxt})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == page_url
    page = await client.get(r.headers["location"])
    assert page.status_code == 200
    assert flow["user_code"] in page.text
    assert f'action="{PREFIX}/devices/verify"' in page.text
    r = await client.post(
        f"{PREFIX}/devices/verify",
        data={"user_code": flow["user_code"], "workspace_id": str(ws.id), "action": "approve"},
        headers=SAME_ORIGIN,
    )
    assert r.status_code == 200, r.text
    assert "approved" in r.text

    await db.execute(update(Device).values(last_poll=None))
    await db.commit()
    client.cookies.clear()
    ok = await client.post(
        f"{PREFIX}/auth/login",
        data={"grant_type": GRANT, "client_id": cid, "device_code": flow["device_code"]},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["device_metadata"] == {"tenant_id": str(ws.id)}
    me = await client.get(f"{PREFIX}/users/me", headers=bearer(ok.json()["access_token"]))
    assert me.json()["username"] == "alice"


async def _headers(app: FastAPI, username: str) -> dict[str, str]:
    async with app.state.sessionmaker() as db:
        return bearer(await token_for(db, await make_user(db, username)))


async def test_pages_at_the_root_link_to_the_root(
    client: httpx.AsyncClient, db: AsyncSession, alice: User
) -> None:
    """Without the prefix, nothing of it appears."""
    r = await client.get("/devices/verify?user_code=ABCD-EFGH")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=%2Fdevices%2Fverify")
    page = await client.get("/login")
    assert 'action="/login"' in page.text
    await client.post("/login", data={"username": "alice", "password": PASSWORD})
    verify = await client.get("/devices/verify?user_code=ABCD-EFGH")
    assert verify.status_code == 200
    assert PREFIX not in verify.text


async def test_both_forms_share_one_rate_budget(make_app: AppFactory) -> None:
    app = await make_app(ratelimit_default="3/minute")
    alice = await _headers(app, "alice")
    async with client_for(app) as c:
        remaining = []
        for path in ("/organizations", f"{PREFIX}/organizations", "/organizations"):
            r = await c.get(path, headers=alice)
            assert r.status_code == 200, r.text
            remaining.append(r.headers["ratelimit"])
        assert [h.split(";")[1] for h in remaining] == ["r=2", "r=1", "r=0"]
        r = await c.get(f"{PREFIX}/organizations", headers=alice)
        assert r.status_code == 429
        assert r.headers["retry-after"].isdigit()
        # A parameter route is one template too, whichever form names it.
        ids = [uuid.uuid4() for _ in range(3)]
        assert (await c.get(f"/users/{ids[0]}", headers=alice)).status_code != 429
        assert (await c.get(f"{PREFIX}/users/{ids[1]}", headers=alice)).status_code != 429
        assert (await c.get(f"/users/{ids[2]}", headers=alice)).status_code != 429
        assert (await c.get(f"{PREFIX}/users/{ids[0]}", headers=alice)).status_code == 429


async def test_login_attempts_count_once_across_both_forms(make_app: AppFactory) -> None:
    app = await make_app(ratelimit_login_ip="2/minute", ratelimit_login_account="50/minute")
    form = {"username": "nobody", "password": "wrong-password"}
    async with client_for(app) as c:
        assert (await c.post("/auth/login", data=form)).status_code == 401
        assert (await c.post(f"{PREFIX}/auth/login", data=form)).status_code == 401
        r = await c.post(f"{PREFIX}/login", data=form)
    assert r.status_code == 429, r.text
