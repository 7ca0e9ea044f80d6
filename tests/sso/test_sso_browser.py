"""Must show 1 of issue 15, in headless Chromium against the real provider, on both
databases: sign in by SSO, "Try it out" on /docs sees the SSO user, a second sign-in is
the same user, a pre-created user with the verified email is linked (not duplicated),
and an invitation to that email is accepted in one click and its role holds."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_docs_login import _execute, _operation
from tests.sso.conftest import Stack, new_page
from tests.sso.flows import at_provider, has_session, me, sso, sso_events, users_with_email, watch
from tests.support.browser import UI_TIMEOUT_MS

pytestmark = pytest.mark.browser
expect.set_options(timeout=UI_TIMEOUT_MS)


def test_sign_in_then_try_it_out_shows_the_sso_user(page: Page, stack: Stack) -> None:
    email = f"alice-{stack.backend}@acme.example.com"
    out = sso(page, stack, email)
    assert out.status == 303
    page.wait_for_url(f"{stack.zenpro.url}/docs")
    assert has_session(page)

    block = _operation(page, "get", "/users/me", [])
    if not block.locator(".opblock-body").is_visible():
        block.locator(".opblock-summary").first.click()
    block.get_by_role("button", name="Try it out").click()
    status, body = _execute(block)
    expect(status).to_have_text("200")
    expect(body).to_contain_text('"oauth_provider": "acme"')
    expect(body).to_contain_text(f'"oauth_id": "{email}"')
    expect(body).to_contain_text(f'"email": "{email}"')
    expect(body).to_contain_text('"email_verified": true')

    first = me(page)
    assert first["oauth_provider"] == "acme"
    assert first["username"] == email
    events = [e for e in sso_events(stack) if e["actor_id"] == first["id"]]
    assert [e["action"] for e in events] == ["sso_create"]
    assert all("token" not in str(e["changes"]).lower() for e in events)


def test_second_sign_in_is_the_same_user(page: Page, stack: Stack, browser: object) -> None:
    email = f"again-{stack.backend}@acme.example.com"
    assert sso(page, stack, email).status == 303
    first = me(page)
    other = new_page(browser, stack)  # type: ignore[arg-type]
    try:
        assert sso(other, stack, email).status == 303
        assert me(other)["id"] == first["id"]
    finally:
        other.context.close()
    assert len(users_with_email(stack, email)) == 1
    actions = [e["action"] for e in sso_events(stack) if e["actor_id"] == first["id"]]
    assert sorted(actions) == ["sso_create", "sso_signin"]


def test_a_pre_created_user_with_that_email_is_linked(page: Page, stack: Stack) -> None:
    email = f"bob-{stack.backend}@acme.example.com"
    with stack.admin() as api:
        r = api.post(
            "/users",
            json={"username": f"bob-{stack.backend}", "password": "bob-Pa55word-1", "email": email},
        )
        assert r.status_code == 201, r.text
        bob = r.json()
    assert sso(page, stack, email).status == 303
    mine = me(page)
    assert mine["id"] == bob["id"]
    assert mine["username"] == f"bob-{stack.backend}"
    assert mine["oauth_provider"] == "acme"
    assert mine["email_verified"] is True
    assert [u["id"] for u in users_with_email(stack, email)] == [bob["id"]]
    actions = [e["action"] for e in sso_events(stack) if e["actor_id"] == bob["id"]]
    assert actions == ["sso_link"]


def _invite(stack: Stack, org_name: str, email: str) -> dict[str, str]:
    with stack.admin() as api:
        r = api.post("/organizations", json={"name": org_name})
        assert r.status_code == 201, r.text
        org: dict[str, str] = r.json()
        r = api.post(f"/organizations/{org['id']}/invitations", json={"email": email})
        assert r.status_code == 201, r.text
    return org


def test_an_invitation_is_accepted_in_one_click_and_its_role_holds(
    page: Page, stack: Stack
) -> None:
    email = f"carol-{stack.backend}@acme.example.com"
    org = _invite(stack, f"inv-{stack.backend}", email)
    assert sso(page, stack, email, next_url="/docs").status == 303
    page.wait_for_url("**/auth/oidc/invitations?next=%2Fdocs")
    expect(page.locator("main")).to_contain_text(f"inv-{stack.backend}")
    assert page.request.get(f"/organizations/{org['id']}").status == 404  # not yet a member
    with page.expect_navigation(url=f"{stack.zenpro.url}/docs"):
        page.get_by_role("button", name=f"Join inv-{stack.backend}").click()
    r = page.request.get(f"/organizations/{org['id']}")
    assert r.status == 200, r.text()
    with stack.admin() as api:
        members = api.get(f"/organizations/{org['id']}/members").json()
    mine = next(m for m in members if m["id"] == me(page)["id"])
    assert [r["name"] for r in mine["roles"]] == ["Organization Member"], mine


def test_a_trusting_provider_accepts_invitations_at_sign_in(page: Page, stack: Stack) -> None:
    """The second provider configuration (``corp``, another client at the same provider,
    side by side with ``acme``) trusts its users' addresses: no click needed. It also
    takes domains ``acme`` refuses."""
    email = f"dave-{stack.backend}@other.example.org"
    org = _invite(stack, f"trust-{stack.backend}", email)
    assert sso(page, stack, email, key="corp").status == 303
    page.wait_for_url(f"{stack.zenpro.url}/docs")
    assert me(page)["oauth_provider"] == "corp"
    assert page.request.get(f"/organizations/{org['id']}").status == 200
    actions = [e["action"] for e in sso_events(stack) if e["actor_id"] == me(page)["id"]]
    assert sorted(actions) == ["sso_create", "sso_invite"]


def test_the_device_page_lets_an_sso_user_sign_in_and_keeps_the_code(
    page: Page, stack: Stack
) -> None:
    """``zenml login --pro`` opens the verification page: a signed-out SSO user goes
    through /login and the provider, and comes back to the same page and code."""
    started = httpx.post(
        f"{stack.zenpro.url}/auth/device_authorization",
        data={"client_id": str(uuid.uuid4())},
        timeout=30,
    )
    assert started.status_code == 200, started.text
    grant = started.json()
    page.goto(grant["verification_uri_complete"])
    page.wait_for_url("**/login?next=*")
    with page.expect_navigation(url=f"{stack.idp.url}/**"):
        page.get_by_role("link", name="Sign in with Acme ID").click()
    at_provider(page, stack, f"nina-{stack.backend}@acme.example.com")
    page.wait_for_url(f"**/devices/verify?user_code={grant['user_code']}")
    expect(page.get_by_role("heading", name="Authorize a device")).to_be_visible()
    assert me(page)["oauth_provider"] == "acme"


def test_logout_offers_rp_initiated_logout(page: Page, stack: Stack) -> None:
    assert sso(page, stack, f"olga-{stack.backend}@acme.example.com").status == 303
    page.goto("/login")  # any zenpro page: the form below posts from it, same origin
    page.evaluate(
        """() => { const f = document.createElement('form'); f.method = 'post';
                   f.action = '/auth/oidc/logout'; document.body.append(f); f.submit(); }"""
    )
    page.wait_for_url("**/auth/oidc/logout")
    expect(page.locator("main")).to_contain_text("You are signed out of zenpro")
    assert page.request.get("/users/me").status == 401
    end = page.get_by_role("link", name="Also sign out of Acme ID")
    href = end.get_attribute("href") or ""
    assert href.startswith(f"{stack.idp.url}/session/end?client_id=zenpro-acme")
    assert "post_logout_redirect_uri=" + quote(f"{stack.zenpro.url}/login", safe="") in href
    end.click()
    # The provider asks to confirm (its own page), then sends the browser back to /login.
    with page.expect_navigation(url=f"{stack.zenpro.url}/login**"):
        page.get_by_role("button", name="Yes, sign me out").click()


def test_a_provider_that_puts_only_sub_in_the_id_token(page: Page, stack: Stack) -> None:
    """The email then comes from the UserInfo endpoint (with the same ``sub``)."""
    stack.restart_idp(sub_only=True)
    try:
        email = f"pia-{stack.backend}@acme.example.com"
        assert sso(page, stack, email).status == 303
        mine = me(page)
        assert mine["email"] == email
        assert mine["email_verified"] is True
        assert mine["name"] == f"Test pia-{stack.backend}"
    finally:
        stack.restart_idp()


def test_the_api_v1_alias_and_a_foreign_next(page: Page, stack: Stack) -> None:
    """Under ``/api/v1`` the buttons stay under it; the redirect URI is the one
    registered; a ``next`` off this site falls back to the console."""
    out = watch(page)
    page.goto("/api/v1/login?next=//evil.example/x")
    link = page.get_by_role("link", name="Sign in with Acme ID")
    assert link.get_attribute("href") == "/api/v1/auth/oidc/acme/login?next=%2Fconsole"
    page.goto("/api/v1/auth/oidc/acme/login?next=https://evil.example/")
    at_provider(page, stack, f"quinn-{stack.backend}@acme.example.com")
    page.wait_for_url(f"{stack.zenpro.url}/console")
    assert out.callbacks[0].startswith(f"{stack.zenpro.url}/auth/oidc/acme/callback?")
    assert me(page)["oauth_provider"] == "acme"
