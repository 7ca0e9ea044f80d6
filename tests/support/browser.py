"""Headless Chromium for the browser tests (tests/browser, tests/sso, tests/console).

Chromium is Debian's (``/usr/bin/chromium``; override with ZENPRO_CHROMIUM): Playwright's own
browser download is not used. Without Chromium the tests skip, except under ``CI=true``, where
they fail. A failing test leaves a screenshot and the page HTML in ``test-artifacts/``
(the report hook is in ``tests/conftest.py``).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Request, Route, sync_playwright

from tests.support.processes import ROOT

ARTIFACTS = ROOT / "test-artifacts"
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
UI_TIMEOUT_MS = 20_000


def find_chromium() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    msg = (
        f"Chromium not found at {CHROMIUM}; install it with `apt-get install -y chromium` "
        "(or point ZENPRO_CHROMIUM at a Chromium binary) to run the browser tests"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(msg + " (CI=true: browser tests may not be skipped)")
    pytest.skip(msg)


def launched(chromium_path: str) -> Iterator[Browser]:
    """A headless Chromium for as long as the generator runs (a fixture's body)."""
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def open_page(browser: Browser, base_url: str, *allowed: str) -> Page:
    """A fresh browser context (no cookies) on ``base_url`` that may reach only it and
    ``allowed``: every other request is aborted and remembered (``external_requests``),
    so a page that needs the internet (a CDN, a web font) is seen."""
    context = browser.new_context(base_url=base_url)
    context.set_default_timeout(UI_TIMEOUT_MS)
    pg = context.new_page()
    blocked: list[str] = []
    reachable = (base_url, *allowed)

    def handle(route: Route, req: Request) -> None:
        if req.url.startswith(reachable):
            route.continue_()
        else:
            blocked.append(req.url)
            route.abort()

    pg.route(re.compile(r".*"), handle)
    pg.external_requests = blocked  # type: ignore[attr-defined]
    return pg


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


def closing(page: Page, node: pytest.Item) -> Iterator[Page]:
    """Yield ``page``, then keep artifacts if the test failed and close its context."""
    try:
        yield page
    finally:
        if failed(node):
            save_artifacts(node, page)
        page.context.close()
