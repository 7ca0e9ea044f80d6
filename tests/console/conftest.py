"""Fixtures of the console's browser tests: one headless Chromium per module
(``tests/support/browser.py``), and the served zenpro per database (``browser_support``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.console.browser_support import served
from tests.support.browser import find_chromium, launched

__all__ = ["served"]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    return find_chromium()


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    yield from launched(chromium_path)
