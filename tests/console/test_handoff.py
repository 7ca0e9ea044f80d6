"""The browser hand-off and the workspace page, without zenml (the real ZenML server is in
tests/compat/test_workspace_page.py): the sign-in entry's routing and the safety of its
targets, the workspace-token cache (expiry, invalidation by the auth and grants epochs),
and what the page says when the workspace misbehaves. The misbehaving workspace is a tiny
real HTTP server on 127.0.0.1 (``FakeWorkspace``), on both databases."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import BASE_URL
from tests.console.support import HTML, Person, person, text_of
from tests.fixtures.authz import assign, make_org
from tests.fixtures.factories import PASSWORD, make_user
from tests.support.apps import other_app
from tests.support.processes import free_port
from zenpro.auth.deps import COOKIE_NAME
from zenpro.auth.secrets import hash_secret
from zenpro.authz.vocabulary import ORG_MEMBER_ID, WORKSPACE_VIEWER_ID
from zenpro.console import zenml_client
from zenpro.console.handoff import LAST_WORKSPACE_COOKIE, LOGIN_ENTRY
from zenpro.console.run_graph import MAX_STEPS, graph, step_edges, steps_of
from zenpro.console.workspace_view import duration_text
from zenpro.console.zenml_client import REFRESH_MARGIN, Dag, TokenCache, Unreadable
from zenpro.kit.db import utcnow
from zenpro.models import Organization, Token, User, Workspace

ORG_VIEWER_ID = uuid.UUID("00000000-0000-4000-8000-000000000003")
RUN_ID = "11111111-2222-4333-8444-555555555555"
PROJECT_ID = "99999999-2222-4333-8444-555555555555"
EVIL = "<script>alert(1)</script>"


# --- A workspace server that does what it is told -----------------------------------


def _listing(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"index": 1, "max_size": 20, "total_pages": 1, "total": len(items), "items": items}


def _run() -> dict[str, Any]:
    return {
        "id": RUN_ID,
        "name": f"run-{EVIL}",
        "body": {"status": "completed", "project_id": PROJECT_ID, "created": "2026-01-01T10:00:00"},
        "metadata": {"start_time": "2026-01-01T10:00:00", "end_time": "2026-01-01T10:01:05.5"},
        "resources": {
            "pipeline": {"id": str(uuid.uuid4()), "name": EVIL},
            "stack": {"id": str(uuid.uuid4()), "name": "default"},
        },
    }


def _dag() -> dict[str, Any]:
    step = {"type": "step", "metadata": {"status": "completed", "duration": 1.5}}
    return {
        "id": RUN_ID,
        "status": "completed",
        "nodes": [
            {**step, "node_id": "step/a", "name": "first"},
            {**step, "node_id": "step/b", "name": EVIL},
            {"node_id": "a/out", "type": "artifact", "name": "output"},
            # a cycle and an edge to nowhere: drawn in finite time all the same
            {**step, "node_id": "step/c", "name": "loop-c"},
            {**step, "node_id": "step/d", "name": "loop-d"},
        ],
        "edges": [
            {"source": "step/a", "target": "a/out"},
            {"source": "a/out", "target": "step/b"},
            {"source": "step/c", "target": "step/d"},
            {"source": "step/d", "target": "step/c"},
            {"source": "step/a", "target": "nowhere"},
        ],
    }


class FakeWorkspace:
    """``login``: ok | refuse | garbage | odd | slow; ``reads``: ok | forbidden | garbage |
    shape | slow | expire (the first token it issued is refused with 401 once)."""

    def __init__(self) -> None:
        self.login = "ok"
        self.reads = "ok"
        self.logins: list[str] = []  # the Bearer of each exchange
        self.read_tokens: list[str] = []
        self.expired: set[str] = set()
        self.sleep = 3.0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, status: int, body: Any) -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the console gave up waiting (the slow cases)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode())
                assert self.path == "/api/v1/login", self.path
                assert form == {"grant_type": ["zenml-external"]}
                assert "Origin" not in self.headers
                assert "Referer" not in self.headers
                fake.logins.append(self.headers.get("Authorization", ""))
                mode = fake.login
                if mode == "slow":
                    time.sleep(fake.sleep)
                if mode == "refuse":
                    return self._answer(401, {"detail": ["AuthorizationException", "no"]})
                if mode == "garbage":
                    return self._answer(200, b"<html>not json")
                if mode == "odd":  # a token no HTTP header can carry back
                    return self._answer(200, {"access_token": "t\u00e9", "expires_in": 60})
                token = f"ws-token-{len(fake.logins)}"
                self._answer(200, {"access_token": token, "expires_in": 3600})

            def do_GET(self) -> None:
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                fake.read_tokens.append(token)
                if not token.startswith("ws-token-"):
                    return self._answer(401, {"detail": ["CredentialsNotValid", "?"]})
                mode = fake.reads
                if mode == "expire" and token == "ws-token-1":
                    return self._answer(401, {"detail": ["CredentialsNotValid", "expired"]})
                if mode == "slow":
                    time.sleep(fake.sleep)
                path = urlsplit(self.path).path
                if mode == "forbidden" and path == "/api/v1/projects":
                    return self._answer(403, {"detail": ["IllegalOperationError", "no"]})
                if mode == "garbage":
                    return self._answer(200, b"\x00\xff not json")
                if mode == "shape":
                    return self._answer(200, {"items": "nope", "total": -1})
                self._answer(*self._read(path))

            def _read(self, path: str) -> tuple[int, Any]:
                if path == "/api/v1/projects":
                    return 200, _listing([{"id": PROJECT_ID, "name": "demo", "body": {}}])
                if path == "/api/v1/pipelines":
                    return 200, _listing(
                        [
                            {
                                "id": str(uuid.uuid4()),
                                "name": EVIL,
                                "resources": {"latest_run_status": "completed"},
                            },
                            {"id": str(uuid.uuid4()), "name": "x", "permission_denied": True},
                        ]
                    )
                if path == "/api/v1/runs":
                    return 200, _listing([_run()])
                if path == f"/api/v1/runs/{RUN_ID}":
                    return 200, _run()
                if path == f"/api/v1/runs/{RUN_ID}/dag":
                    return 200, _dag()
                if path == "/api/v1/stacks":
                    return 200, _listing([])
                return 404, {"detail": ["KeyError", "no such thing"]}

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeWorkspace:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake() -> Iterator[FakeWorkspace]:
    with FakeWorkspace() as f:
        yield f


async def _enrolled(db: AsyncSession, owner: User, url: str, **kw: Any) -> Workspace:
    org = await make_org(db, owner)
    ws = Workspace(
        name=f"ws-{uuid.uuid4().hex[:8]}",
        organization_id=org.id,
        owner_id=owner.id,
        is_managed=False,
        status=kw.get("status", "available"),
        desired_state="available",
        server_url=url,
        usage_counts={},
    )
    db.add(ws)
    await db.commit()
    return ws


async def _viewer(client: httpx.AsyncClient, db: AsyncSession, ws: Workspace) -> Person:
    """A Workspace Viewer of ``ws`` signed in to the console."""
    who = await person(client, db, "viewer")
    org = Organization(id=ws.organization_id, name="x", owner_id=ws.owner_id)
    await assign(db, ORG_MEMBER_ID, org, user=who.user)
    await assign(db, WORKSPACE_VIEWER_ID, org, user=who.user, workspace=ws)
    return who


async def _owner_and_ws(
    client: httpx.AsyncClient, db: AsyncSession, url: str, **kw: Any
) -> tuple[Person, Workspace]:
    owner = await person(client, db, "owner")
    return owner, await _enrolled(db, owner.user, url, **kw)


# --- The sign-in entry ---------------------------------------------------------------


async def _entry(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None, **params: str
) -> str:
    r = await client.get(LOGIN_ENTRY, params=params, headers={**HTML, **(headers or {})})
    assert r.status_code == 303, r.text
    assert r.headers["cache-control"] == "no-store"
    return r.headers["location"]


def _login_for(target: str) -> str:
    return str(httpx.URL("/login", params={"next": target}))


async def test_entry_sends_an_anonymous_browser_through_login(client: httpx.AsyncClient) -> None:
    assert await _entry(client) == _login_for("/console")
    target = "/console/workspaces/ws1?project=x"
    assert await _entry(client, next=target) == _login_for(target)


@pytest.mark.parametrize(
    "bad",
    [
        "//evil.example/console",
        "https://evil.example/console/x",
        "http://testserver.evil.example/console",
        "/\\evil.example/console",
        "javascript:alert(1)",
        "/login",
        "/auth/logout",
        "/console/../auth/logout",
        "/console/%2e%2e/auth/logout",
        "/console/..",
        "/console/x\n",
        LOGIN_ENTRY,
        LOGIN_ENTRY + "/",
        "console/workspaces/x",
        "/consoleevil",
    ],
)
async def test_entry_refuses_targets_off_the_console(client: httpx.AsyncClient, bad: str) -> None:
    assert await _entry(client, next=bad) == _login_for("/console")
    assert await _entry(client, {"Referer": bad}) == _login_for("/console")


async def test_entry_returns_to_the_referring_console_page(client: httpx.AsyncClient) -> None:
    page = "/console/organizations/abc?notice=x"
    assert await _entry(client, {"Referer": BASE_URL + page}) == _login_for(page)
    assert await _entry(client, {"Referer": page}) == _login_for(page)


async def test_entry_maps_a_workspace_server_referer_to_its_page(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    owner = await make_user(db)
    ws = await _enrolled(db, owner, "http://127.0.0.1:18237")
    target = await _entry(client, {"Referer": "http://127.0.0.1:18237/some/page"})
    assert target == _login_for(f"/console/workspaces/{ws.name}")
    assert await _entry(client, {"Referer": "http://127.0.0.1:1/x"}) == _login_for("/console")


async def test_entry_returns_to_the_last_workspace_shown(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    owner, ws = await _owner_and_ws(client, db, "http://127.0.0.1:1")
    r = await owner.get(f"/console/workspaces/{ws.name}")
    assert r.status_code == 200
    cookie = r.cookies.get(LAST_WORKSPACE_COOKIE)
    assert cookie == ws.name
    set_cookie = r.headers["set-cookie"].lower()
    assert "httponly" in set_cookie
    assert "path=/console" in set_cookie
    # Signed in: straight back to the workspace page.
    owner._use_cookie()
    client.cookies.set(LAST_WORKSPACE_COOKIE, ws.name)
    assert await _entry(client) == f"/console/workspaces/{ws.name}"
    # Signed out: the same target, through /login.
    client.cookies.clear()
    client.cookies.set(LAST_WORKSPACE_COOKIE, ws.name)
    assert await _entry(client) == _login_for(f"/console/workspaces/{ws.name}")
    client.cookies.set(LAST_WORKSPACE_COOKIE, "../../auth/logout")
    assert await _entry(client) == _login_for("/console")


async def test_workspace_url_to_login_and_back(client: httpx.AsyncClient, db: AsyncSession) -> None:
    """What a browser does after the ZenML server's redirect: the workspace page by name
    → /login?next=… → sign in with a password → the workspace page."""
    owner = await make_user(db)
    ws = await _enrolled(db, owner, "http://127.0.0.1:1")
    page = f"/console/workspaces/{ws.name}"
    r = await client.get(page, headers=HTML)
    assert r.status_code == 303
    assert r.headers["location"] == _login_for(page)
    r = await client.post(
        "/login",
        data={"username": owner.username, "password": PASSWORD, "next": page},
        headers={"Origin": BASE_URL},
    )
    assert r.status_code == 303
    assert r.headers["location"] == page
    r = await client.get(page, headers=HTML)
    assert r.status_code == 200
    assert "cannot be reached" in text_of(r.text)
    # By id too; and a stranger's 404 by name.
    assert (await client.get(f"/console/workspaces/{ws.id}", headers=HTML)).status_code == 200
    stranger = await person(client, db, "stranger")
    assert (await stranger.get(page)).status_code == 404
    assert (await stranger.get(f"{page}/projects/{PROJECT_ID}/runs/{RUN_ID}")).status_code == 404


# --- The workspace-token cache --------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


KEY = (uuid.uuid4(), uuid.uuid4(), uuid.uuid4())


def test_cache_serves_until_shortly_before_expiry() -> None:
    clock = Clock()
    cache = TokenCache(clock=clock)
    cache.put(KEY, "t", 3600, (1, 1))
    assert cache.get(KEY, (1, 1)) == "t"
    clock.now += 3600 - REFRESH_MARGIN - 1
    assert cache.get(KEY, (1, 1)) == "t"
    clock.now += 1
    assert cache.get(KEY, (1, 1)) is None
    assert len(cache) == 0


def test_cache_is_emptied_by_an_epoch_move_and_keeps_nothing_unsure() -> None:
    cache = TokenCache(clock=Clock())
    cache.put(KEY, "t", 3600, (1, 1))
    assert cache.get(KEY, (2, 1)) is None  # a logout or revoked session somewhere
    cache.put(KEY, "t", 3600, (1, 1))
    assert cache.get(KEY, (1, 2)) is None  # a role changed somewhere
    cache.put(KEY, "t", 3600, None)  # the caches cannot be trusted now
    assert cache.get(KEY, None) is None
    cache.put(KEY, "t", REFRESH_MARGIN, (1, 1))  # too short-lived to keep
    assert len(cache) == 0
    other = (uuid.uuid4(), uuid.uuid4(), uuid.uuid4())
    cache.put(KEY, "t", 3600, (1, 1))
    cache.put(other, "u", 3600, (1, 2))  # stored under newer epochs: the old one goes
    assert len(cache) == 1


def test_cache_is_bounded() -> None:
    cache = TokenCache(max_entries=2, clock=Clock())
    keys = [(uuid.uuid4(), uuid.uuid4(), uuid.uuid4()) for _ in range(3)]
    for k in keys:
        cache.put(k, "t", 3600, (1, 1))
    assert len(cache) == 2
    assert cache.get(keys[0], (1, 1)) is None


# --- The workspace page against a workspace that misbehaves ---------------------------


def _holds(r: httpx.Response) -> str:
    return text_of(r.text.split('aria-labelledby="ws-holds"', 1)[1])


async def test_page_shows_runs_escaped_and_caches_the_token(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, fake: FakeWorkspace
) -> None:
    owner, ws = await _owner_and_ws(client, db, fake.url)
    viewer = await _viewer(client, db, ws)
    r = await viewer.get(f"/console/workspaces/{ws.name}")
    assert r.status_code == 200
    assert EVIL not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    held = _holds(r)
    assert "demo" in held
    assert "completed" in held
    assert "1 min 5 s" in held
    assert "Hidden: your role does not allow this" in held
    assert f"/console/workspaces/{ws.name}/projects/{PROJECT_ID}/runs/{RUN_ID}" in r.text
    assert "ws-token" not in r.text
    # The control-plane token sent is a fresh one-minute child of the session, not it.
    assert len(fake.logins) == 1
    sent = fake.logins[0].removeprefix("Bearer ")
    assert sent.startswith("zps_")
    assert sent != viewer.cookie
    child = await db.scalar(select(Token).where(Token.token_hash == hash_secret(sent)))
    session = await db.scalar(select(Token).where(Token.token_hash == hash_secret(viewer.cookie)))
    await db.commit()
    assert child is not None
    assert session is not None
    assert child.parent_token_id == session.id
    assert child.expires - child.created <= timedelta(seconds=60)
    # Cached: the next page does not exchange again.
    assert (await viewer.get(f"/console/workspaces/{ws.name}")).status_code == 200
    assert len(fake.logins) == 1
    # A role changed anywhere (grants epoch): exchanged again.
    await assign(db, ORG_VIEWER_ID, Organization(id=ws.organization_id, name="x"), user=owner.user)
    assert (await viewer.get(f"/console/workspaces/{ws.name}")).status_code == 200
    assert len(fake.logins) == 2
    # Sign-out (auth epoch): the entry of the ended session is dropped at the next use.
    token = await viewer.csrf(f"/console/workspaces/{ws.name}")
    r = await viewer.post("/console/logout", token=token)
    assert r.status_code == 303
    again = await person(client, db, "again")
    await assign(db, ORG_MEMBER_ID, Organization(id=ws.organization_id, name="x"), user=again.user)
    org = Organization(id=ws.organization_id, name="x")
    await assign(db, WORKSPACE_VIEWER_ID, org, user=again.user, workspace=ws)
    assert (await again.get(f"/console/workspaces/{ws.name}")).status_code == 200
    cache: TokenCache = app.state.workspace_tokens
    assert len(cache) == 1
    assert session.id not in {k[1] for k in cache._entries}


async def test_run_page_draws_the_step_graph(
    client: httpx.AsyncClient, db: AsyncSession, fake: FakeWorkspace
) -> None:
    owner, ws = await _owner_and_ws(client, db, fake.url)
    r = await owner.get(f"/console/workspaces/{ws.name}/projects/{PROJECT_ID}/runs/{RUN_ID}")
    assert r.status_code == 200, r.text
    svg = r.text.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert svg.count('<g class="step st-completed">') == 4
    assert svg.count('class="edge"') == 3  # first → <script>, and the cycle's two
    assert "&lt;script&gt;" in svg
    assert EVIL not in r.text
    assert "<script" not in r.text.replace('<script src="/console/static/', "")
    assert "first" in svg
    assert "loop-c" in svg
    # ZenML's other links: an unknown component is the workspace's 404, a bad id a 422.
    r = await owner.get(f"/console/workspaces/{ws.name}/components/{uuid.uuid4()}")
    assert r.status_code == 404
    assert "no such component" in text_of(r.text)
    r = await owner.get(f"/console/workspaces/{ws.name}/projects/x/runs/{RUN_ID}")
    assert r.status_code == 422
    r = await owner.get(f"/console/workspaces/{ws.name}/stacks")
    assert r.status_code == 200
    assert "No stacks you may see" in text_of(r.text)


@pytest.mark.parametrize(
    ("login", "reads", "says", "run_page"),
    [
        ("refuse", "ok", "did not sign you in", 403),
        ("garbage", "ok", "not JSON", 502),
        ("odd", "ok", "cannot read", 502),
        ("ok", "forbidden", "Your role does not allow this.", 200),  # the run page reads no project
        ("ok", "garbage", "not JSON", 502),
        ("ok", "shape", "cannot read", 502),
    ],
)
async def test_page_says_what_went_wrong(
    client: httpx.AsyncClient,
    db: AsyncSession,
    fake: FakeWorkspace,
    login: str,
    reads: str,
    says: str,
    run_page: int,
) -> None:
    fake.login, fake.reads = login, reads
    owner, ws = await _owner_and_ws(client, db, fake.url)
    r = await owner.get(f"/console/workspaces/{ws.name}")
    assert r.status_code == 200  # zenpro's own facts are still shown
    assert says in _holds(r)
    assert "Deactivate" in text_of(r.text)
    if reads == "forbidden":
        assert "No stacks you may see" in _holds(r)  # the rest of the page stays
    r = await owner.get(f"/console/workspaces/{ws.name}/projects/{PROJECT_ID}/runs/{RUN_ID}")
    assert r.status_code == run_page
    if run_page != 200:
        assert says in text_of(r.text)


async def test_a_401_is_answered_by_one_new_exchange(
    client: httpx.AsyncClient, db: AsyncSession, fake: FakeWorkspace
) -> None:
    fake.reads = "expire"
    owner, ws = await _owner_and_ws(client, db, fake.url)
    r = await owner.get(f"/console/workspaces/{ws.name}")
    assert r.status_code == 200
    assert "demo" in _holds(r)
    assert len(fake.logins) == 2


async def test_slow_or_absent_workspace_is_said_within_the_timeout(
    app: FastAPI, db: AsyncSession, fake: FakeWorkspace, database_url: str
) -> None:
    fake.sleep = 15.0  # the workspace would answer after this long; the page does not wait
    async with other_app(database_url, workspace_page_timeout_seconds=0.5) as c:
        owner = await person(c, db, "owner")
        ws = await _enrolled(db, owner.user, fake.url)
        for login, reads in (("slow", "ok"), ("ok", "slow")):
            fake.login, fake.reads = login, reads
            started = time.monotonic()
            r = await owner.get(f"/console/workspaces/{ws.name}")
            assert time.monotonic() - started < 5  # 0.5 s here; slack for a busy machine
            assert r.status_code == 200
            assert "did not answer" in _holds(r)
        r = await owner.get(f"/console/workspaces/{ws.name}/projects/{PROJECT_ID}/runs/{RUN_ID}")
        assert r.status_code == 504
        closed = await _enrolled(db, owner.user, f"http://127.0.0.1:{free_port()}")
        r = await owner.get(f"/console/workspaces/{closed.name}")
        assert "cannot be reached" in _holds(r)


async def test_no_call_to_a_workspace_that_is_not_running(
    client: httpx.AsyncClient, db: AsyncSession, fake: FakeWorkspace
) -> None:
    owner, ws = await _owner_and_ws(client, db, fake.url, status="pending")
    r = await owner.get(f"/console/workspaces/{ws.name}")
    assert "not available (status: pending)" in _holds(r)
    r = await owner.get(f"/console/workspaces/{ws.name}/stacks")
    assert r.status_code == 503
    assert fake.logins == []
    assert fake.read_tokens == []


async def test_expired_session_cannot_use_the_cache(
    client: httpx.AsyncClient, db: AsyncSession, fake: FakeWorkspace
) -> None:
    """A session that ends stops the page (the guard refuses it before any cache)."""
    owner, ws = await _owner_and_ws(client, db, fake.url)
    assert (await owner.get(f"/console/workspaces/{ws.name}")).status_code == 200
    row = await db.scalar(select(Token).where(Token.token_hash == hash_secret(owner.cookie)))
    assert row is not None
    row.expires = utcnow() - timedelta(seconds=1)
    await db.commit()
    client.cookies.set(COOKIE_NAME, owner.cookie)
    r = await client.get(f"/console/workspaces/{ws.name}", headers=HTML)
    assert r.status_code == 303
    assert len(fake.logins) == 1


# --- The step graph, drawn from whatever arrives ------------------------------------


def test_graph_orders_columns_and_bounds_its_size() -> None:
    dag = Dag.model_validate(_dag())
    # By column: first, what it feeds, then the cycle's steps one column past the rest.
    assert [n.name for n in steps_of(dag)] == ["first", EVIL, "loop-c", "loop-d"]
    assert step_edges(dag) == {
        ("step/a", "step/b"),
        ("step/c", "step/d"),
        ("step/d", "step/c"),
    }
    many = {
        "id": RUN_ID,
        "status": "running",
        "nodes": [
            {"node_id": f"step/{i}", "type": "step", "name": f"s{i}"} for i in range(MAX_STEPS + 1)
        ],
        "edges": [{"source": f"step/{i}", "target": f"step/{i + 1}"} for i in range(MAX_STEPS)],
    }
    assert "too many to draw" in graph(Dag.model_validate(many), "t", {})
    chain = {**many, "nodes": many["nodes"][:MAX_STEPS]}
    svg = graph(Dag.model_validate(chain), "t", {})
    assert svg.count('class="edge"') == MAX_STEPS - 1
    assert f'width="{12 * 2 + MAX_STEPS * (200 + 56) - 56}"' in svg  # one column per step
    empty = {**many, "nodes": [], "edges": []}
    assert "no steps yet" in graph(Dag.model_validate(empty), "t", {})


def test_durations_read_well() -> None:
    assert duration_text(None) == ""
    assert duration_text(0.25) == "0.2 s"
    assert duration_text(65.5) == "1 min 5 s"
    assert duration_text(2 * 3600 + 5 * 60) == "2 h 5 min"


async def test_enrollment_settings_send_browsers_to_the_console(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    owner = await person(client, db, "owner")
    org = await make_org(db, owner.user)
    r = await owner.post(
        f"/console/organizations/{org.id}/workspaces", {"name": "enrolled", "kind": "external"}
    )
    assert r.status_code == 200
    assert f"ZENML_SERVER_PRO_DASHBOARD_URL={BASE_URL}/console" in text_of(r.text)
    assert f"ZENML_SERVER_PRO_API_URL={BASE_URL} " in text_of(r.text)


def test_hostile_answers_are_unreadable_not_errors() -> None:
    with pytest.raises(Unreadable):
        zenml_client._json(b"[" * 100_000 + b"]" * 100_000)  # nested too deep
    with pytest.raises(Unreadable):
        zenml_client._json(b"1" * 10_000)  # an integer too long to convert
    nan = _dag()
    nan["nodes"][0]["metadata"]["duration"] = float("nan")
    with pytest.raises(Unreadable):
        zenml_client.parse(Dag, json.loads(json.dumps(nan)))
    with pytest.raises(Unreadable):
        zenml_client.parse(zenml_client.TokenAnswer, {"access_token": "t", "expires_in": 1e308})


# --- What a workspace server is handed -------------------------------------------------


async def test_the_token_a_workspace_server_gets_signs_in_there_and_does_nothing_else(
    client: httpx.AsyncClient, db: AsyncSession, fake: FakeWorkspace
) -> None:
    """Whatever answers at the URL a workspace reported gets a one-minute ``exchange``
    token: zenpro accepts it for that workspace's ``authorize_server`` and refuses it
    everywhere else (no user, no superuser power to replay)."""
    owner, ws = await _owner_and_ws(client, db, fake.url)
    owner.user.is_superuser = True
    await db.commit()
    assert (await owner.get(f"/console/workspaces/{ws.name}")).status_code == 200
    handed = fake.logins[-1].removeprefix("Bearer ")
    assert handed
    assert handed != owner.cookie
    as_it = {"Authorization": f"Bearer {handed}"}
    there = await client.get(
        "/users/authorize_server", params={"server_id": str(ws.id)}, headers=as_it
    )
    assert there.status_code == 200, there.text
    assert there.json()["id"] == str(owner.user.id)
    other = await _enrolled(db, owner.user, fake.url)
    elsewhere = await client.get(
        "/users/authorize_server", params={"server_id": str(other.id)}, headers=as_it
    )
    assert elsewhere.status_code == 401, elsewhere.text
    for method, path, body in (
        ("GET", "/users/me", None),
        ("PATCH", f"/users/{owner.user.id}", {"name": "pwned"}),
        ("GET", "/organizations", None),
        ("GET", "/auth/api_token", None),
    ):
        r = await client.request(method, path, json=body, headers=as_it)
        assert r.status_code == 401, (method, path, r.status_code, r.text)
    row = await db.scalar(select(Token).where(Token.token_hash == hash_secret(handed)))
    assert row is not None
    assert row.kind == "exchange"
    assert row.audience == ws.id
    assert row.expires - row.created <= timedelta(minutes=1)


def test_a_hostile_graph_costs_no_more_than_what_was_sent() -> None:
    """Every step writing and reading one artifact is n² connections; names of any
    length. The picture stays bounded (a sentence instead), and names are shortened in
    the text alternative."""
    many = [{"node_id": f"s{i}", "type": "step", "name": "x" * 1000} for i in range(200)]
    artifact = [{"node_id": "a", "type": "artifact", "name": "a"}]
    edges = [{"source": f"s{i}", "target": "a"} for i in range(200)]
    edges += [{"source": "a", "target": f"s{i}"} for i in range(200)]
    body = {"id": RUN_ID, "status": "running", "nodes": many + artifact, "edges": edges}
    drawn = str(graph(Dag.model_validate(body), "run", {}))
    assert "too many to draw" in drawn
    assert len(drawn) < 1000
    few = {**body, "nodes": many[:3] + artifact, "edges": edges[:3] + edges[200:203]}
    picture = str(graph(Dag.model_validate(few), "run", {}))
    assert "<svg" in picture
    assert "x" * 81 not in picture
    assert len(picture) < 20_000
