"""Headless Chromium at the console: a served zenpro per database, people signing in,
axe-core on each page in both themes, screenshots, and a table snapshot of the database."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response

from tests.fixtures import db as dbfix
from tests.fixtures.services import need
from tests.security.world import snapshot
from tests.support.browser import ARTIFACTS, open_page
from tests.support.processes import ZenproServer, zenpro_serve
from zenpro.kit.db import make_engine, make_sessionmaker

HERE = Path(__file__).resolve().parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ARTIFACTS / "console"
ADMIN_PASSWORD = "console-admin-Pa55word"
PASSWORD = "console-user-Pa55word"
SETTINGS = {
    "ZENPRO_ENV": "development",
    "ZENPRO_RECONCILE_INTERVAL_SECONDS": "0.5",
    "ZENPRO_LOG_LEVEL": "WARNING",
}
SERIOUS = ("serious", "critical")
T = TypeVar("T")


def in_thread(work: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end in a thread of its own: sync Playwright keeps an event
    loop running in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


@dataclass
class Served:
    server: ZenproServer
    database_url: str
    backend: str

    @property
    def url(self) -> str:
        return self.server.url

    def api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return httpx.request(
            method, f"{self.url}{path}", headers=self.server.headers(), timeout=30, **kw
        )

    def user(self, username: str, email: str) -> str:
        r = self.api(
            "POST", "/users", json={"username": username, "password": PASSWORD, "email": email}
        )
        assert r.status_code in (200, 201), r.text
        return str(r.json()["id"])

    def snapshot(self) -> dict[str, tuple[int, str]]:
        async def take() -> dict[str, tuple[int, str]]:
            engine = make_engine(self.database_url, pool_size=1)
            try:
                async with make_sessionmaker(engine)() as db:
                    return await snapshot(db)
            finally:
                await engine.dispose()

        return in_thread(take())


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    if not AXE.exists():
        msg = f"axe-core is not installed ({AXE}): run `npm ci` in {HERE}"
        if os.environ.get("CI") == "true":
            pytest.fail(msg + " (CI=true: the accessibility tests may not be skipped)")
        pytest.skip(msg)
    home = tmp_path_factory.mktemp(f"console-{request.param}")
    if request.param == "postgres":
        need("postgres")
        url = in_thread(dbfix.fresh_postgres("_browser"))
    else:
        url = f"sqlite+aiosqlite:///{home / 'zenpro.db'}"
    with zenpro_serve(
        home,
        database_url=url,
        env=SETTINGS,
        admin_password=ADMIN_PASSWORD,
        login=True,
        ready_timeout=60,
        stop_timeout=15,
    ) as server:
        yield Served(server, url, request.param)


def new_page(browser: Browser, served: Served) -> Page:
    pg = open_page(browser, served.url)  # anything off the server is aborted and listed
    problems: list[str] = []
    pg.on("console", lambda m: _console(problems, m))
    pg.on("requestfailed", lambda r: _failed(problems, r))
    pg.on("response", lambda r: _response(problems, r))
    pg.problems = problems  # type: ignore[attr-defined]
    return pg


def _console(problems: list[str], message: ConsoleMessage) -> None:
    # A failed load is reported with its address by _response (pages that answer 403 or
    # 409 are expected documents; the login page, not the console's, has no favicon).
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        problems.append(message.text)


def _failed(problems: list[str], request: Request) -> None:
    # A load cut short by the next navigation is no fault of the page; anything else is
    # (a refused or unreachable asset; external requests are also listed by open_page).
    if request.failure != "net::ERR_ABORTED":
        problems.append(f"failed: {request.url} ({request.failure})")


def _response(problems: list[str], response: Response) -> None:
    if response.status < 400 or response.request.resource_type == "document":
        return
    if response.url.endswith("/favicon.ico"):
        return
    problems.append(f"{response.status} {response.url}")


def sign_in(pg: Page, username: str, password: str = PASSWORD, next_path: str = "/console") -> None:
    pg.goto(f"/login?next={next_path}")
    pg.locator("#username").fill(username)
    pg.locator("#password").fill(password)
    pg.get_by_role("button", name="Sign in").click()
    pg.wait_for_url(f"**{next_path}")


def audit(pg: Page, served: Served, name: str) -> None:
    """axe-core in light and dark (no serious or critical violation), a screenshot of
    each, no console error or failed request (a CSP refusal is one), and no sideways
    scrolling at 320 px."""
    source = AXE.read_text("utf-8")
    for scheme in ("light", "dark"):
        pg.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
        if not pg.evaluate("() => typeof window.axe === 'object'"):
            pg.evaluate(source + "\n;undefined")
        result = pg.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target)}))"
        )
        bad = [v for v in result if v["impact"] in SERIOUS]
        assert not bad, f"{name} ({scheme}): {json.dumps(bad, indent=1)}"
        SHOTS.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(SHOTS / f"{served.backend}-{name}-{scheme}.png"), full_page=True)
    pg.emulate_media(color_scheme="light")  # type: ignore[arg-type]
    size = pg.viewport_size
    if size:
        wide = pg.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= size["width"], f"{name} scrolls sideways at {size['width']} px ({wide})"
    pg.set_viewport_size({"width": 320, "height": 640})
    wide = pg.evaluate("() => document.documentElement.scrollWidth")
    assert wide <= 320, f"{name} scrolls sideways at 320 px ({wide} px wide)"
    pg.screenshot(path=str(SHOTS / f"{served.backend}-{name}-320.png"), full_page=True)
    if size:
        pg.set_viewport_size(size)
    assert pg.problems == [], f"{name}: {pg.problems}"  # type: ignore[attr-defined]
    assert pg.external_requests == [], f"{name}: {pg.external_requests}"  # type: ignore[attr-defined]
