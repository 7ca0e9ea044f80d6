"""Browser tests: a real ``zenpro serve`` subprocess and headless Chromium via Playwright.

Chromium is Debian's (``/usr/bin/chromium``; override with ZENPRO_CHROMIUM): Playwright's own
browser download is not used. Without Chromium these tests skip, except under ``CI=true``, where
they fail. A failing test leaves a screenshot and the page HTML in ``test-artifacts/``.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, Route, sync_playwright

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
UI_TIMEOUT_MS = 20_000


@dataclass(frozen=True)
class Server:
    base_url: str
    username: str
    password: str
    log: Path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _zenpro_command() -> list[str]:
    script = Path(sys.executable).with_name("zenpro")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "zenpro.cli"]


def _log_tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_healthy(proc: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"zenpro exited with {proc.returncode} on start:\n{_log_tail(log)}")
        try:
            if httpx.get(f"{base_url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"zenpro did not answer /health within {START_TIMEOUT_S:.0f}s:\n{_log_tail(log)}")


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
def zenpro_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``zenpro serve --migrate`` on a free port with a fresh SQLite database."""
    tmp = tmp_path_factory.mktemp("zenpro-server")
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    # A clean environment: no ZENPRO_ variable of the developer's shell leaks in, and the
    # working directory is the temp dir, so no .env file of the checkout is read either.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZENPRO_")}
    env.update(
        ZENPRO_HOME=str(REPO_ROOT),
        ZENPRO_ENV="development",
        ZENPRO_DATABASE_URL=f"sqlite+aiosqlite:///{tmp / 'z.db'}",
        ZENPRO_BASE_URL=base_url,
        ZENPRO_ADMIN_PASSWORD=ADMIN_PASSWORD,
        ZENPRO_RECONCILER_ENABLED="false",
        ZENPRO_LOG_LEVEL="WARNING",
    )
    log = tmp / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*_zenpro_command(), "serve", "--migrate", "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_healthy(proc, base_url, log)
        yield Server(base_url=base_url, username="admin", password=ADMIN_PASSWORD, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


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
def page(browser: Browser, zenpro_server: Server, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(base_url=zenpro_server.base_url)
    context.set_default_timeout(UI_TIMEOUT_MS)
    pg = context.new_page()
    _block_external(pg, zenpro_server.base_url)
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
