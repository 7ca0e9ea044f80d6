"""Sign in at /login in headless Chromium, then use "Try it out" on /docs with the cookie.

The whole path a person takes: the HTML form sets the HttpOnly session cookie, Swagger UI sends
it with its requests (``withCredentials``), logout revokes the session server-side, and the same
call from the same page is then refused with 401.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import ADMIN_PASSWORD, UI_TIMEOUT_MS
from tests.support.processes import ZenproServer

pytestmark = pytest.mark.browser

expect.set_options(timeout=UI_TIMEOUT_MS)


def _login(pg: Page, server: ZenproServer) -> None:
    pg.goto("/login?next=/docs")
    pg.locator("#username").fill(server.admin_username)
    pg.locator("#password").fill(ADMIN_PASSWORD)
    pg.get_by_role("button", name="Sign in").click()
    pg.wait_for_url(f"{server.url}/docs")


def _operation(pg: Page, method: str, path: str, failed_requests: list[str]) -> Locator:
    """The Swagger UI block of one operation, found by method and exact path."""
    block = pg.locator(f".opblock.opblock-{method}").filter(
        has=pg.locator(f'.opblock-summary-path[data-path="{path}"]')
    )
    try:
        expect(block).to_have_count(1, timeout=UI_TIMEOUT_MS)
    except AssertionError:
        pytest.fail(
            f"Swagger UI did not render {method.upper()} {path} on /docs. If the page loads its "
            "assets from a CDN, this machine may be offline and no local copy was found "
            f"(failed requests: {failed_requests})"
        )
    return block


def _execute(block: Locator) -> tuple[Locator, Locator]:
    block.locator(".btn.execute").click()
    # The live response is the body row of the table (its header row has the same classes).
    row = block.locator(".responses-wrapper .live-responses-table tbody tr.response").first
    return row.locator("td.response-col_status"), row.locator(
        "td.response-col_description pre.microlight"
    ).first


def test_login_then_try_it_out_then_logout(page: Page, zenpro_server: ZenproServer) -> None:
    pg, server = page, zenpro_server
    failed_requests: list[str] = []
    pg.on("requestfailed", lambda r: failed_requests.append(r.url))

    _login(pg, server)
    cookie = next(c for c in pg.context.cookies() if c["name"] == "zenpro_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"

    me = _operation(pg, "get", "/users/me", failed_requests)
    if not me.locator(".opblock-body").is_visible():
        me.locator(".opblock-summary").first.click()
    me.get_by_role("button", name="Try it out").click()

    status, body = _execute(me)
    expect(status).to_have_text("200")
    expect(body).to_contain_text(f'"username": "{server.admin_username}"')

    # A cookie-authenticated write from another origin is refused; the session survives it.
    evil = pg.request.post("/auth/logout", headers={"Origin": "http://evil.example"})
    assert evil.status == 403, evil.text()

    bye = pg.request.post("/auth/logout", headers={"Origin": server.url})
    assert bye.ok, f"{bye.status} {bye.text()}"

    status, body = _execute(me)
    expect(status).to_have_text("401")
    expect(body).not_to_contain_text(f'"username": "{server.admin_username}"')
    # Every asset came from zenpro itself (no CDN): the docs work offline.
    assert pg.external_requests == [], pg.external_requests  # type: ignore[attr-defined]
