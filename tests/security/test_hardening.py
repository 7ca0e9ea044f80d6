"""Issue 12, the smaller findings: deep JSON in the fast lane, workspace server URLs,
``/metrics`` behind a scrape token, enrollment-key rotation ending machine tokens, and
``authorize_server`` saying nothing about workspaces the caller cannot see."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import make_settings
from tests.fixtures.authz import make_enrolled_workspace, make_org, member_of
from tests.fixtures.factories import bearer, make_user, token_for
from tests.ratelimit.conftest import AppFactory, client_for
from zenpro.models import Token, User, Workspace

METRICS_TOKEN = "scrape-" + "s3cr3t" * 6


class Enrolled:
    """An organization with an enrolled workspace, its owner's token and a machine token."""

    def __init__(self, ws: Workspace, key: str, owner: dict[str, str]) -> None:
        self.ws_id, self.ws_name, self.key, self.owner = ws.id, ws.name, key, owner
        self.ws = ws
        self.machine: dict[str, str] = {}


async def _machine_login(client: httpx.AsyncClient, ws_id: uuid.UUID, key: str) -> httpx.Response:
    return await client.post(
        "/auth/login",
        data={
            "grant_type": "client_credentials",
            "client_id": str(ws_id),
            "client_secret": key,
            "audience": "zenml",
        },
    )


@pytest.fixture
async def enrolled(client: httpx.AsyncClient, db: AsyncSession) -> Enrolled:
    owner = await make_user(db, f"owner-{uuid.uuid4().hex[:6]}")
    org = await make_org(db, owner)
    ws, key = await make_enrolled_workspace(db, org, owner, f"secret-name-{uuid.uuid4().hex[:6]}")
    world = Enrolled(ws, key, bearer(await token_for(db, owner)))
    r = await _machine_login(client, ws.id, key)
    assert r.status_code == 200, r.text
    world.machine = bearer(r.json()["access_token"])
    return world


# --- deeply nested JSON never reaches a 500 --------------------------------------------


def _deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


async def _check(
    client: httpx.AsyncClient, headers: dict[str, str], user: User, body: bytes
) -> httpx.Response:
    return await client.post(
        "/rbac/check_permissions",
        params={"user_id": str(user.id), "action": "read"},
        content=body,
        headers={**headers, "Content-Type": "application/json"},
    )


@pytest.mark.parametrize("depth", [1000, 20_000, 100_000])
async def test_deep_json_on_the_fast_lane_is_a_4xx(
    app: FastAPI, client: httpx.AsyncClient, enrolled: Enrolled, alice: User, depth: int
) -> None:
    """Before: a RecursionError in the fast lane's json parsing: 500 without security
    headers, connection reset."""
    served = app.state.fastlane_served
    for _ in range(2):  # warm the caches, then the fast lane answers
        r = await _check(client, enrolled.machine, alice, b'["stack"]')
        assert r.status_code == 200, r.text
    assert app.state.fastlane_served > served, "the fast lane did not answer the warm check"
    r = await _check(client, enrolled.machine, alice, _deep(depth))
    assert 400 <= r.status_code < 500, r.text
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.json()["detail"]


async def test_deep_json_on_the_normal_routes_is_a_4xx(
    client: httpx.AsyncClient, enrolled: Enrolled, alice: User, alice_headers: dict[str, str]
) -> None:
    # A cold cache: the normal route parses it.
    r = await _check(client, enrolled.machine, alice, _deep(50_000))
    assert 400 <= r.status_code < 500, r.text
    for method, path, headers in (
        ("POST", "/rbac/resource_members", enrolled.machine),
        ("PATCH", "/users/me", alice_headers),
        ("POST", "/organizations", alice_headers),
    ):
        r = await client.request(
            method,
            path,
            content=b'{"a": ' + _deep(50_000) + b"}",
            headers={**headers, "Content-Type": "application/json"},
        )
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:200])


# --- PATCH /workspace_status takes only http(s) URLs -----------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://files.example/ws",
        "http://",
        "http://[",
        "//evil.example",
        "http://exa mple.com",
        "workspace.example.com",
    ],
)
async def test_workspace_status_refuses_urls_that_are_not_http(
    client: httpx.AsyncClient, db: AsyncSession, enrolled: Enrolled, url: str
) -> None:
    """Before: ``javascript:alert(1)`` was stored and shown as the workspace's URL."""
    r = await client.patch(
        "/workspace_status", headers={**enrolled.machine, "zenml-server-url": url}
    )
    assert 400 <= r.status_code < 500, r.text
    assert "zenml-server-url" in r.text
    stored = await db.scalar(select(Workspace.server_url).where(Workspace.id == enrolled.ws_id))
    await db.rollback()
    assert stored != url
    assert stored is None or stored.startswith(("http://", "https://"))


async def test_workspace_status_records_http_urls(
    client: httpx.AsyncClient, db: AsyncSession, enrolled: Enrolled
) -> None:
    for url, kept in (
        ("https://ws.example.com:8443/", "https://ws.example.com:8443"),
        ("http://127.0.0.1:8237", "http://127.0.0.1:8237"),
    ):
        r = await client.patch(
            "/workspace_status", headers={**enrolled.machine, "zenml-server-url": url}
        )
        assert r.status_code == 200, r.text
        assert r.json()["server_url"] == kept
    # No header: the recorded URL stays.
    r = await client.patch("/workspace_status", headers=enrolled.machine)
    assert r.status_code == 200, r.text
    assert r.json()["server_url"] == "http://127.0.0.1:8237"


# --- /metrics behind a scrape token -----------------------------------------------------


async def test_metrics_require_the_scrape_token_when_one_is_set(make_app: AppFactory) -> None:
    """Before: anyone who could reach the port read the route names and counts."""
    app = await make_app(metrics_token=METRICS_TOKEN)
    async with client_for(app) as c:
        for headers in (
            {},
            bearer("wrong"),
            bearer(METRICS_TOKEN[:-1]),
            {"Authorization": f"Basic {METRICS_TOKEN}"},
            bearer(METRICS_TOKEN + "x"),
        ):
            r = await c.get("/metrics", headers=headers)
            assert r.status_code == 401, headers
            assert r.headers["www-authenticate"].startswith("Bearer")
            assert "zenpro_http_requests_total" not in r.text
        r = await c.get("/metrics", headers=bearer(METRICS_TOKEN))
    assert r.status_code == 200
    assert "zenpro_http_requests_total" in r.text


async def test_metrics_stay_open_without_a_token(make_app: AppFactory) -> None:
    app = await make_app()
    async with client_for(app) as c:
        r = await c.get("/metrics")
    assert r.status_code == 200
    assert "zenpro_http_requests_total" in r.text


def test_metrics_token_is_a_secret_and_must_be_long() -> None:
    settings = make_settings("sqlite+aiosqlite:///x.db", metrics_token=METRICS_TOKEN)
    assert METRICS_TOKEN not in repr(settings)
    assert make_settings("sqlite+aiosqlite:///x.db", metrics_token="").metrics_token is None
    with pytest.raises(ValidationError, match="ZENPRO_METRICS_TOKEN"):
        make_settings("sqlite+aiosqlite:///x.db", metrics_token="short")


# --- rotating the enrollment key ends the machine tokens -------------------------------


async def test_rotating_the_enrollment_key_ends_the_machine_tokens(
    client: httpx.AsyncClient, db: AsyncSession, enrolled: Enrolled
) -> None:
    """Before: a leaked machine token stayed valid for up to an hour after the rotation."""
    assert (await client.patch("/workspace_status", headers=enrolled.machine)).status_code == 200
    stranger = await make_user(db)
    other_ws, other_key = await make_enrolled_workspace(db, await make_org(db, stranger), stranger)
    other_machine = await _machine_login(client, other_ws.id, other_key)
    other_headers = bearer(other_machine.json()["access_token"])
    r = await client.post(f"/workspaces/{enrolled.ws_id}/enrollment_key", headers=enrolled.owner)
    assert r.status_code == 200, r.text
    new_key = r.json()["enrollment_key"]
    r = await client.patch("/workspace_status", headers=enrolled.machine)
    assert r.status_code == 401, r.text
    remaining = await db.scalar(select(Token.id).where(Token.workspace_id == enrolled.ws_id))
    await db.rollback()
    assert remaining is None
    # The old key is dead, the new one works, and other workspaces keep their tokens.
    assert (await _machine_login(client, enrolled.ws_id, enrolled.key)).status_code == 401
    fresh = await _machine_login(client, enrolled.ws_id, new_key)
    assert fresh.status_code == 200, fresh.text
    headers = bearer(fresh.json()["access_token"])
    assert (await client.patch("/workspace_status", headers=headers)).status_code == 200
    assert (await client.patch("/workspace_status", headers=other_headers)).status_code == 200


# --- authorize_server says nothing about workspaces the caller cannot see ---------------


async def test_authorize_server_does_not_name_a_foreign_workspace(
    client: httpx.AsyncClient, db: AsyncSession, enrolled: Enrolled
) -> None:
    """Before: ``403 You are not a member of workspace <name>`` (or ``… is deactivated``)
    to a user of another tenant."""
    eve = await make_user(db, f"eve-{uuid.uuid4().hex[:6]}")
    await make_org(db, eve)
    eve_headers = bearer(await token_for(db, eve))
    url = f"/users/authorize_server?server_id={enrolled.ws_id}"
    r = await client.get(url, headers=eve_headers)
    _assert_says_nothing(r, enrolled)
    ws = await db.get(Workspace, enrolled.ws_id)
    assert ws is not None
    ws.status = "deactivated"
    await db.commit()
    r = await client.get(url, headers=eve_headers)
    _assert_says_nothing(r, enrolled)
    # An unknown id is still a 404 (ZenML: "did not recognize this server").
    r = await client.get(f"/users/authorize_server?server_id={uuid.uuid4()}", headers=eve_headers)
    assert r.status_code == 404


async def test_a_member_is_told_the_workspace_is_deactivated(
    client: httpx.AsyncClient, db: AsyncSession, alice: User
) -> None:
    owner = await make_user(db)
    org = await make_org(db, owner)
    ws, _ = await make_enrolled_workspace(db, org, owner, "team-ws")
    await member_of(db, alice, org, ws)
    url = f"/users/authorize_server?server_id={ws.id}"
    headers = bearer(await token_for(db, alice))
    assert (await client.get(url, headers=headers)).status_code == 200
    ws.status = "deactivated"
    await db.commit()
    r = await client.get(url, headers=headers)
    assert r.status_code == 403
    assert r.json()["detail"][0] == "IllegalOperationError"
    assert "deactivated" in r.json()["detail"][1]


def _assert_says_nothing(r: httpx.Response, world: Enrolled) -> None:
    assert r.status_code == 403, r.text
    kind, message = r.json()["detail"]
    assert kind == "IllegalOperationError"  # the workspace says "not authorized"
    assert message == "You are not authorized to access this server"
    assert world.ws_name not in r.text
    assert str(world.ws_id) not in r.text
    assert "deactivated" not in r.text
