"""Browser tests: a real ``zenpro serve`` subprocess and headless Chromium via Playwright
(``tests/support/browser.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.support.browser import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    UI_TIMEOUT_MS,
    closing,
    failed,
    find_chromium,
    launched,
    open_page,
    save_artifacts,
)
from tests.support.processes import ZenproServer, zenpro_serve

__all__ = ["ARTIFACTS", "CHROMIUM_ARGS", "UI_TIMEOUT_MS", "failed", "save_artifacts"]
ADMIN_PASSWORD = "browser-test-Pa55word"
START_TIMEOUT_S = 60.0
SETTINGS = {
    "ZENPRO_ENV": "development",
    "ZENPRO_RECONCILER_ENABLED": "false",
    "ZENPRO_LOG_LEVEL": "WARNING",
}


@pytest.fixture(scope="session")
def chromium_path() -> str:
    return find_chromium()


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


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    yield from launched(chromium_path)


@pytest.fixture
def page(
    browser: Browser, zenpro_server: ZenproServer, request: pytest.FixtureRequest
) -> Iterator[Page]:
    yield from closing(open_page(browser, zenpro_server.url), request.node)
