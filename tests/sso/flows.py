"""Signing in through the test provider's real pages in Chromium, and what tests check after."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import Page, Response

from tests.sso.conftest import PROVIDER_NAMES, Stack

SESSION_COOKIE = "zenpro_session"


@dataclass
class Outcome:
    """Where a sign-in ended: the callback's status, and every callback URL the browser
    was sent to (to replay or tamper with)."""

    callbacks: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    @property
    def status(self) -> int:
        assert self.statuses, f"the browser never reached a callback: {self.callbacks}"
        return self.statuses[-1]


def watch(pg: Page) -> Outcome:
    out = Outcome()

    def seen(response: Response) -> None:
        if "/auth/oidc/" in response.url and "/callback" in response.url:
            out.callbacks.append(response.url)
            out.statuses.append(response.status)

    pg.on("response", seen)
    return out


def at_provider(pg: Page, stack: Stack, login: str) -> None:
    """Through the provider's own pages: its login form, then its consent page."""
    for _ in range(4):
        if not pg.url.startswith(stack.idp.url):
            return
        login_box = pg.locator('input[name="login"]')
        if login_box.count():
            login_box.fill(login)
            pg.locator('input[name="password"]').fill("any password")
            with pg.expect_navigation():
                pg.get_by_role("button", name="Sign-in").click()
        elif pg.get_by_role("button", name="Continue").count():
            with pg.expect_navigation():
                pg.get_by_role("button", name="Continue").click()
        else:
            break
    raise AssertionError(f"still at the provider: {pg.url}")


def sso(pg: Page, stack: Stack, login: str, key: str = "acme", next_url: str = "/docs") -> Outcome:
    """From zenpro's /login, "Sign in with <provider>", through the provider, and back."""
    out = watch(pg)
    pg.goto(f"/login?next={next_url}")
    with pg.expect_navigation(url=f"{stack.idp.url}/**"):
        pg.get_by_role("link", name=f"Sign in with {PROVIDER_NAMES[key]}").click()
    at_provider(pg, stack, login)
    pg.wait_for_load_state()
    return out


def has_session(pg: Page) -> bool:
    return any(c["name"] == SESSION_COOKIE for c in pg.context.cookies())


def me(pg: Page) -> dict[str, Any]:
    r = pg.request.get("/users/me")
    assert r.status == 200, f"{r.status} {r.text()}"
    data: dict[str, Any] = r.json()
    return data


def users_with_email(stack: Stack, email: str) -> list[dict[str, Any]]:
    with stack.admin() as api:
        r = api.get("/users", params={"email": email})
        assert r.status_code == 200, r.text
        found: list[dict[str, Any]] = r.json()
        return found


def sso_events(stack: Stack) -> list[dict[str, Any]]:
    with stack.admin() as api:
        r = api.get("/audit_events", params={"resource_type": "oidc_identities", "limit": 200})
        assert r.status_code == 200, r.text
        events: list[dict[str, Any]] = r.json()
        return events


def refused(pg: Page, out: Outcome, stack: Stack, email: str, status: int, says: str) -> None:
    """A refusal as the issue wants it: the status, a page that says what happened with a
    way back, no session, and nobody created."""
    assert out.status == status, (out.statuses, pg.content()[:2000])
    body = pg.locator("main").inner_text()
    assert "Sign-in failed" in body
    assert says in body, body
    back = pg.get_by_role("link", name="Back to sign-in")
    assert back.count() == 1
    assert (back.get_attribute("href") or "").startswith("/login?next=")
    assert not has_session(pg)
    assert pg.request.get("/users/me").status == 401
    assert users_with_email(stack, email) == []
