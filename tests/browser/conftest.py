"""Browser tests: a real ``zenpro serve`` subprocess and headless Chromium via Playwright.

Chromium is Debian's (``/usr/bin/chromium``; override with ZENPRO_CHROMIUM): Playwright's own
browser download is not used. Without Chromium these tests skip, except under ``CI=true``, where
they fail. A failing test leaves a screenshot and the page HTML in ``test-artifacts/``.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Request, Route, sync_playwright

from tests.support.processes import ZenproServer, zenpro_serve

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM = os.environ.get("ZENPRO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN_PASSWORD = "browser-test-Pa55word"
START_TIMEOUT_S = 60.0
SETTINGS = {
    "ZENPRO_ENV": "development",
    "ZENPRO_RECONCILER_ENABLED": "false",
    "ZENPRO_LOG_LEVEL": "WARNING",
}
UI_TIMEOUT_MS = 20_000


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    msg = (
        f"Chromium not found at {CHROMIUM}; install it with `apt-get install -y chromium` "
        "(or point ZENPRO_CHROMIUM at a Chromium binary) to run the browser tests"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(msg + " (CI=true: browser tests may not be skipped)")
    pytest.skip(msg)


@pytest.fixture(scope="session")
def zenpro_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZenproServer]:
    """``zenpro serve --migrate`` on a free port with a fresh SQLite database."""
    with zenpro_serve(
        tmp_path_factory.mktemp("zenpro-server"),
        env=SETTINGS,
        admin_password=ADMIN_PASSWORD,
        ready_timeout=START_TIMEOUT_S,
        stop_timeout=15,
    ) as server:
        yield server


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item, so fixtures can tell that the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def save_artifacts(node: pytest.Item, page: Page) -> None:
    """Screenshot and HTML of ``page`` for a failed test, under test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    stem = ARTIFACTS / node.name.replace("/", "_").replace("[", "_").replace("]", "")
    try:
        page.screenshot(path=f"{stem}.png", full_page=True)
        Path(f"{stem}.html").write_text(page.content())
    except Exception as exc:  # best effort: never hide the test's own failure
        sys.stderr.write(f"could not save browser artifacts: {exc}\n")


def failed(node: pytest.Item) -> bool:
    return any(
        getattr(getattr(node, f"rep_{when}", None), "failed", False) for when in ("setup", "call")
    )


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(
    browser: Browser, zenpro_server: ZenproServer, request: pytest.FixtureRequest
) -> Iterator[Page]:
    context = browser.new_context(base_url=zenpro_server.url)
    context.set_default_timeout(UI_TIMEOUT_MS)
    pg = context.new_page()
    _block_external(pg, zenpro_server.url)
    try:
        yield pg
    finally:
        if failed(request.node):
            save_artifacts(request.node, pg)
        context.close()


def _block_external(pg: Page, base_url: str) -> None:
    """zenpro's pages must work with no internet: every request off the server is aborted
    and remembered, and the test fails on any (see ``external_requests``)."""
    blocked: list[str] = []

    def handle(route: Route, req: Request) -> None:
        if req.url.startswith(base_url):
            route.continue_()
        else:
            blocked.append(req.url)
            route.abort()

    pg.route(re.compile(r".*"), handle)
    pg.external_requests = blocked  # type: ignore[attr-defined]
