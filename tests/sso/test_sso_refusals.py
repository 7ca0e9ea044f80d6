"""Must show 3 of issue 15: each refusal with a test, against the real provider in
Chromium, on both databases. Each ends on zenpro's page that says what happened and
links back, with no session and no user created; each is audited with its reason.

Forged ID tokens come from the provider process itself (``/__test/tamper`` in
``idp/server.mjs``): real signatures by real keys (or none, for ``alg: none``), sent
over the network in the token response, so zenpro's validation runs unchanged.
"""

from __future__ import annotations

import contextlib
from urllib.parse import urljoin

import pytest
from playwright.sync_api import Page, Route

from tests.sso.conftest import Stack
from tests.sso.flows import (
    at_provider,
    has_session,
    me,
    refused,
    sso,
    sso_events,
    users_with_email,
    watch,
)

pytestmark = pytest.mark.browser
INVALID = "could not be verified"
BAD_STATE = "cannot be finished"


def _reasons(stack: Stack) -> list[str]:
    return [
        str(e["changes"].get("reason"))
        for e in sso_events(stack)
        if e["action"] == "sso_refuse" and e["outcome"] == "refused"
    ]


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("wrong_nonce", "bad_claim:nonce"),
        ("wrong_aud", "bad_claim:aud"),
        ("several_aud_no_azp", "wrong_azp"),
        ("expired", "expired_id_token"),
        ("wrong_iss", "bad_claim:iss"),
        ("foreign_key", "unknown_key"),
        ("foreign_key_same_kid", "bad_signature"),
        ("alg_none", "algorithm_refused"),
        ("hmac_public_key", "algorithm_refused"),
    ],
)
def test_a_forged_id_token_is_refused(page: Page, stack: Stack, mode: str, reason: str) -> None:
    email = f"forged-{mode.replace('_', '-')}-{stack.backend}@acme.example.com"
    stack.idp.tamper(mode)
    out = sso(page, stack, email)
    refused(page, out, stack, email, 400, INVALID)
    assert stack.idp.stats()["tamper"] is None  # the forged token was really sent
    assert reason in _reasons(stack)


def test_an_unverified_email_is_refused(page: Page, stack: Stack) -> None:
    email = f"unverified-erin-{stack.backend}@acme.example.com"
    out = sso(page, stack, email)
    refused(page, out, stack, email, 403, "is not verified")
    assert "email_unverified" in _reasons(stack)


def test_a_domain_not_allowed_is_refused(page: Page, stack: Stack) -> None:
    email = f"frank-{stack.backend}@other.example.org"
    out = sso(page, stack, email, key="acme")
    refused(page, out, stack, email, 403, "acme.example.com")
    assert "domain_not_allowed" in _reasons(stack)


def test_a_deactivated_user_is_refused(page: Page, stack: Stack) -> None:
    email = f"gina-{stack.backend}@acme.example.com"
    assert sso(page, stack, email).status == 303
    uid = me(page)["id"]
    with stack.admin() as api:
        assert api.patch(f"/users/{uid}", json={"is_active": False}).status_code == 200
    page.context.clear_cookies()
    out = sso(page, stack, email)
    assert out.status == 403
    assert "is deactivated" in page.locator("main").inner_text()
    assert not has_session(page)
    assert [u["id"] for u in users_with_email(stack, email)] == [uid]  # nobody new
    assert "deactivated" in _reasons(stack)


def _stop_at_callback(page: Page, stack: Stack) -> list[str]:
    """Keep the provider's answer from reaching zenpro: its way back (the callback URL
    with code and state) is collected instead. Playwright routes only the first request
    of a redirect chain, so the form posts to the provider are sent from here and its
    redirects followed by hand (with the browser's cookies), up to the callback."""
    caught: list[str] = []

    def hold(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        location = route.fetch(max_redirects=0).headers.get("location", "")
        location = urljoin(stack.idp.url, location)
        while location.startswith(f"{stack.idp.url}/auth/"):  # the provider resuming
            hop = page.request.get(location, max_redirects=0)
            location = urljoin(stack.idp.url, hop.headers.get("location", ""))
        if location.startswith(stack.zenpro.url):
            caught.append(location)
            route.fulfill(status=200, content_type="text/plain", body="held")
        else:
            route.fulfill(status=303, headers={"location": location})

    page.route(f"{stack.idp.url}/interaction/**", hold)
    return caught


def _start(page: Page, stack: Stack, email: str) -> list[str]:
    """A sign-in up to the provider's answer, which is caught (``_stop_at_callback``)."""
    caught = _stop_at_callback(page, stack)
    page.goto("/login?next=/docs")
    with page.expect_navigation(url=f"{stack.idp.url}/**"):
        page.get_by_role("link", name="Sign in with Acme ID").click()
    with contextlib.suppress(AssertionError):  # it ends on the "held" page, not zenpro
        at_provider(page, stack, email)
    page.unroute(f"{stack.idp.url}/interaction/**")
    assert caught, "the provider never answered"
    return caught


def test_a_tampered_state_is_refused(page: Page, stack: Stack) -> None:
    email = f"henry-{stack.backend}@acme.example.com"
    caught = _start(page, stack, email)
    out = watch(page)
    page.goto(caught[0].replace("state=", "state=x"))
    refused(page, out, stack, email, 400, BAD_STATE)
    assert "unknown_state" in _reasons(stack)


def test_a_replayed_state_is_refused(page: Page, stack: Stack) -> None:
    email = f"iris-{stack.backend}@acme.example.com"
    first = sso(page, stack, email)
    assert first.status == 303
    uid = me(page)["id"]
    page.context.clear_cookies()  # signed out; the flow cookie is gone too
    out = watch(page)
    page.goto(first.callbacks[0])
    assert out.status == 400
    assert BAD_STATE in page.locator("main").inner_text()
    assert not has_session(page)
    assert [u["id"] for u in users_with_email(stack, email)] == [uid]


def test_a_state_from_another_browser_is_refused(page: Page, stack: Stack, browser: object) -> None:
    from tests.sso.conftest import new_page

    email = f"jack-{stack.backend}@acme.example.com"
    caught = _start(page, stack, email)
    other = new_page(browser, stack)  # type: ignore[arg-type]
    try:
        out = watch(other)
        other.goto(caught[0])
        refused(other, out, stack, email, 400, BAD_STATE)
    finally:
        other.context.close()
    assert "state_from_other_browser" in _reasons(stack)


def test_a_reused_authorization_code_is_refused(page: Page, stack: Stack) -> None:
    """The first flow's code, already redeemed, brought back with a fresh valid state of
    the same browser: only the provider can tell, and zenpro shows its refusal."""
    email = f"kim-{stack.backend}@acme.example.com"
    first = sso(page, stack, email)
    assert first.status == 303
    used_code = first.callbacks[0].split("code=")[1].split("&")[0]
    page.context.clear_cookies()
    second = f"kim2-{stack.backend}@acme.example.com"
    caught = _start(page, stack, second)
    fresh_code = caught[0].split("code=")[1].split("&")[0]
    out = watch(page)
    page.goto(caught[0].replace(fresh_code, used_code))
    refused(page, out, stack, second, 400, "did not accept this sign-in")
    assert "code_refused" in _reasons(stack)


def test_cancelling_at_the_provider(page: Page, stack: Stack) -> None:
    email = f"leo-{stack.backend}@acme.example.com"
    out = watch(page)
    page.goto("/login?next=/docs")
    with page.expect_navigation(url=f"{stack.idp.url}/**"):
        page.get_by_role("link", name="Sign in with Acme ID").click()
    page.get_by_role("link", name="[ Cancel ]").click()
    page.wait_for_url(f"{stack.zenpro.url}/**")
    refused(page, out, stack, email, 400, "cancelled")
    assert "provider_error:access_denied" in _reasons(stack)


def test_a_provider_that_is_down(page: Page, stack: Stack) -> None:
    page.goto("/login?next=/docs")
    response = None
    with page.expect_response("**/auth/oidc/down/login*") as info:
        page.get_by_role("link", name="Sign in with Offline IdP").click()
    response = info.value
    assert response.status == 502
    body = page.locator("main").inner_text()
    assert "could not be reached" in body
    assert page.get_by_role("link", name="Back to sign-in").count() == 1
    assert "provider_unavailable" in _reasons(stack)


def test_key_rotation_needs_one_jwks_refetch(page: Page, stack: Stack, browser: object) -> None:
    from tests.sso.conftest import new_page

    assert sso(page, stack, f"mia-{stack.backend}@acme.example.com").status == 303
    old_kid = stack.idp.stats()["kid"]
    stack.restart_idp()  # a new process, a new signing key
    assert stack.idp.stats()["kid"] != old_kid
    assert stack.idp.stats()["jwks"] == 0
    for n in range(2):
        other = new_page(browser, stack)  # type: ignore[arg-type]
        try:
            assert sso(other, stack, f"mia{n}-{stack.backend}@acme.example.com").status == 303
            assert me(other)["oauth_provider"] == "acme"
        finally:
            other.context.close()
    assert stack.idp.stats()["jwks"] == 1  # once for the new key, not once per sign-in


def test_the_provider_going_down_before_the_code_is_traded(page: Page, stack: Stack) -> None:
    email = f"ruth-{stack.backend}@acme.example.com"
    caught = _start(page, stack, email)
    stack.idp.stack.close()  # the provider stops between its answer and the token request
    try:
        out = watch(page)
        page.goto(caught[0])
        refused(page, out, stack, email, 502, "could not be reached")
    finally:
        stack.restart_idp()
    assert "provider_unavailable" in _reasons(stack)
