"""The browser side of single sign-on: start, callback, invitations after sign-in, logout.

Every refusal ends on an HTML page that says what happened and links back to the sign-in
page (keeping ``next``); the reason is logged and audited, never a token.
"""

from __future__ import annotations

import logging
import uuid
from html import escape
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zenpro import routing
from zenpro.auth import service as auth_service
from zenpro.auth.deps import COOKIE_NAME, CurrentHuman, OptionalPrincipal
from zenpro.auth.endpoints import NO_STORE, set_session_cookie
from zenpro.auth.pages import DEFAULT_NEXT, base_path, render, safe_next
from zenpro.auth.principal import UserPrincipal
from zenpro.authz.guards import Public
from zenpro.config import Settings
from zenpro.deps import DB, AppSettings
from zenpro.errors import NotAuthenticated, ZenproError, error_responses
from zenpro.invitations import service as invitations
from zenpro.kit.net import client_of
from zenpro.kit.schemas import TEXT_PATTERN
from zenpro.models import Invitation, Organization
from zenpro.sso import accounts, audit, discovery
from zenpro.sso import flow as flows
from zenpro.sso import repository as repo
from zenpro.sso.config import KEY_PATTERN, OIDCProviderConfig
from zenpro.sso.errors import SSOError

log = logging.getLogger("zenpro.sso")
router = routing.router(tags=["single sign-on"])
INVITATIONS_PATH = "/auth/oidc/invitations"
NextParam = Annotated[
    str | None, Query(max_length=2048, pattern=TEXT_PATTERN, description="Where to go after.")
]
# Sized so the whole callback URL stays within the request-target cap (kit.request_limits):
# Entra ID's codes run past a thousand characters; our own states are 43.
Code = Annotated[str | None, Query(max_length=1536, pattern=TEXT_PATTERN)]
State = Annotated[str | None, Query(max_length=128, pattern=TEXT_PATTERN)]
Error = Annotated[str | None, Query(max_length=64, pattern=TEXT_PATTERN)]
Issuer = Annotated[str | None, Query(max_length=512, pattern=TEXT_PATTERN)]
Key = Annotated[str, Path(max_length=64, pattern=KEY_PATTERN, description="The provider's key.")]
HTML: dict[str, Any] = {"content": {"text/html": {}}}
PROVIDER_ERRORS = {
    "access_denied": "The sign-in was cancelled at {name}, so nobody was signed in",
    "login_required": "{name} asked you to sign in first; start the sign-in again",
    "consent_required": "{name} needs your consent to share your details; start again",
}


def _login_link(request: Request, next_url: str) -> str:
    return f"{base_path(request)}/login?" + urlencode({"next": next_url})


def problem_page(
    request: Request, title: str, message: str, next_url: str, status: int
) -> HTMLResponse:
    body = f"""
<h1>{escape(title)}</h1>
<p class="error" role="alert">{escape(message)}.</p>
<p><a href="{escape(_login_link(request, next_url))}">Back to sign-in</a></p>"""
    return render(title, body, status)


def _unknown(request: Request, key: str) -> HTMLResponse:
    return problem_page(
        request,
        "Sign-in failed",
        f"No sign-in provider {key!r} is configured here",
        DEFAULT_NEXT,
        404,
    )


def _refused(
    db: DB,
    request: Request,
    settings: Settings,
    provider: OIDCProviderConfig,
    exc: SSOError,
    next_url: str,
) -> HTMLResponse:
    log.info("sso: sign-in with %s refused: %s", provider.key, exc.reason)
    audit.record(
        db,
        request,
        settings,
        "sso_refuse",
        provider=provider.key,
        outcome="refused",
        reason=exc.reason,
    )
    return problem_page(request, "Sign-in failed", exc.message, next_url, exc.status)


@router.get(
    "/auth/oidc/{key}/login",
    summary="Start a single sign-on",
    description="Redirects (303) to the provider's sign-in page; after it, the browser "
    "comes back to `/auth/oidc/{key}/callback` and goes on to `next` (default /console).",
    dependencies=[Public],
    response_class=HTMLResponse,
    responses={
        303: {"description": "To the provider."},
        404: {"description": "No such provider (an HTML page).", **HTML},
        502: {"description": "The provider is unreachable (an HTML page).", **HTML},
    },
)
async def oidc_login(
    request: Request, db: DB, settings: AppSettings, key: Key, next: NextParam = None
) -> Response:
    provider = settings.oidc_provider(key)
    target = safe_next(next)
    if provider is None:
        return _unknown(request, key)
    try:
        started = await flows.start(
            db, settings, provider, target, request.cookies.get(flows.FLOW_COOKIE)
        )
    except SSOError as exc:
        return _refused(db, request, settings, provider, exc, target)
    response = RedirectResponse(started.url, status_code=303, headers=NO_STORE)
    response.set_cookie(
        flows.FLOW_COOKIE,
        started.browser_secret,
        max_age=flows.FLOW_MINUTES * 60,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )
    return response


def _provider_error(provider: OIDCProviderConfig, error: str) -> SSOError:
    text = PROVIDER_ERRORS.get(error, "{name} refused the sign-in (" + error[:64] + ")")
    return SSOError(f"provider_error:{error}"[:40], text.format(name=provider.name))


@router.get(
    "/auth/oidc/{key}/callback",
    summary="Finish a single sign-on",
    description="Where the provider sends the browser back (the redirect URI to register: "
    "`<ZENPRO_BASE_URL>/auth/oidc/{key}/callback`). Checks `state` (single use, this "
    "browser's, unexpired), trades `code` with the PKCE verifier, validates the ID token, "
    "links or creates the user, sets the session cookie and redirects (303) to `next`.",
    dependencies=[Public],
    response_class=HTMLResponse,
    responses={
        303: {"description": "Signed in: to `next`, or to the pending invitations."},
        400: {"description": "A refused sign-in (an HTML page saying why).", **HTML},
        403: {"description": "Not allowed to sign in (an HTML page saying why).", **HTML},
        404: {"description": "No such provider (an HTML page).", **HTML},
        502: {"description": "The provider is unreachable (an HTML page).", **HTML},
    },
)
async def oidc_callback(
    request: Request,
    db: DB,
    settings: AppSettings,
    key: Key,
    code: Code = None,
    state: State = None,
    error: Error = None,
    iss: Issuer = None,
) -> Response:
    provider = settings.oidc_provider(key)
    if provider is None:
        return _unknown(request, key)
    try:
        flow = await flows.take(db, provider, state, request.cookies.get(flows.FLOW_COOKIE))
    except SSOError as exc:
        return _refused(
            db,
            request,
            settings,
            provider,
            _provider_error(provider, error) if error else exc,
            DEFAULT_NEXT,
        )
    next_url = flow.next_url
    # The state is spent now, whatever follows; and no transaction (on SQLite: the write
    # lock) stays open while the provider answers the token request.
    await db.commit()
    try:
        if iss is not None and iss != provider.issuer:
            # RFC 9207: an answer of another provider (mix-up attack), whatever it holds.
            raise SSOError("wrong_iss_parameter", flows.BAD_STATE)
        if error:
            raise _provider_error(provider, error)
        if not code:
            raise SSOError("missing_code", flows.BAD_STATE)
        claims = accounts.Claims.read(
            provider, await flows.exchange(settings, provider, flow, code)
        )
        signed = await accounts.sign_in(
            db,
            settings,
            provider,
            claims,
            **client_of(request.scope, settings),
        )
    except SSOError as exc:
        await db.rollback()  # nothing of a refused sign-in stays
        return _refused(db, request, settings, provider, exc, next_url)
    return await _signed_in(db, request, settings, provider, signed, claims, next_url)


async def _signed_in(
    db: DB,
    request: Request,
    settings: Settings,
    provider: OIDCProviderConfig,
    signed: accounts.SignedIn,
    claims: accounts.Claims,
    next_url: str,
) -> Response:
    user = signed.user
    log.info("sso: %s %s with %s", user.username, signed.how, provider.key)
    action = {"signed_in": "sso_signin", "linked": "sso_link", "created": "sso_create"}
    audit.record(
        db,
        request,
        settings,
        action[signed.how],
        provider=provider.key,
        user_id=user.id,
        sub=claims.sub,
        email=claims.email,
    )
    accepted = await accounts.accept_trusted(db, provider, user)
    for inv in accepted:
        audit.record(
            db,
            request,
            settings,
            "sso_invite",
            provider=provider.key,
            user_id=user.id,
            invitation=str(inv.id),
            organization=str(inv.organization_id),
        )
    target = next_url
    if await accounts.pending(db, user):
        target = f"{base_path(request)}{INVITATIONS_PATH}?" + urlencode({"next": next_url})
    response = RedirectResponse(target, status_code=303, headers=NO_STORE)
    set_session_cookie(response, settings, signed.issued)
    return response


def _invitation_item(request: Request, inv: Invitation, org: Organization, next_url: str) -> str:
    action = f"{base_path(request)}{INVITATIONS_PATH}/{inv.id}/accept"
    name = org.display_name or org.name
    return f"""
<li><strong>{escape(name)}</strong> ({escape(org.name)}), until {inv.expires:%Y-%m-%d}
<form method="post" action="{escape(action)}">
  <input type="hidden" name="next" value="{escape(next_url)}">
  <button type="submit">Join {escape(name)}</button>
</form></li>"""


@router.get(
    INVITATIONS_PATH,
    summary="Pending invitations after sign-in",
    description="HTML: the invitations to the signed-in user's verified email, each "
    "accepted with one click; `next` to go on.",
    operation_id="oidc_invitations_page",
    dependencies=[Public],
    response_class=HTMLResponse,
    responses={303: {"description": "Not signed in: to /login."}},
)
async def invitations_page(
    request: Request, db: DB, principal: OptionalPrincipal, next: NextParam = None
) -> Response:
    target = safe_next(next)
    if not isinstance(principal, UserPrincipal):
        return RedirectResponse(_login_link(request, target), status_code=303, headers=NO_STORE)
    user = await repo.user(db, principal.user_id)
    items = await accounts.pending(db, user) if user else []
    if user is None or not items:
        return RedirectResponse(target, status_code=303, headers=NO_STORE)
    listed = "".join(_invitation_item(request, i, o, target) for i, o in items)
    body = f"""
<h1>You are invited</h1>
<p class="sub">Organizations have invited {escape(user.email or "")}.</p>
<ul class="invitations">{listed}</ul>
<p><a href="{escape(target)}">Not now, continue</a></p>"""
    return render("Invitations", body)


@router.post(
    INVITATIONS_PATH + "/{invitation_id}/accept",
    summary="Accept an invitation (page)",
    description="Form post from the invitations page (same origin only): accepts it and "
    "goes back to the page, or on to `next` when none is left.",
    operation_id="oidc_invitation_accept",
    response_class=HTMLResponse,
    responses={
        303: {"description": "Accepted."},
        404: {"description": "No such invitation for you (an HTML page).", **HTML},
        409: {"description": "Not possible (an HTML page saying why).", **HTML},
    },
)
async def accept_invitation(
    request: Request,
    db: DB,
    actor: CurrentHuman,
    invitation_id: uuid.UUID,
    next: Annotated[str | None, Form(max_length=2048, pattern=TEXT_PATTERN)] = None,
) -> Response:
    target = safe_next(next)
    user = await repo.user(db, actor.user_id)
    assert user is not None  # the session resolved to this user
    try:
        await invitations.accept(db, await accounts.access_of(db, user), invitation_id)
    except ZenproError as exc:
        return problem_page(request, "Invitation", exc.message, target, exc.status_code)
    back = f"{base_path(request)}{INVITATIONS_PATH}?" + urlencode({"next": target})
    return RedirectResponse(back, status_code=303, headers=NO_STORE)


@router.post(
    "/auth/oidc/logout",
    summary="Sign out (page)",
    description="Form post: ends this browser's zenpro session and clears its cookie; when "
    "the user signed in with a provider that publishes `end_session_endpoint`, the page "
    "offers to sign out there too (RP-initiated logout, back to /login). Without a session: "
    "401 (a page saying so).",
    operation_id="oidc_logout",
    dependencies=[Public],
    response_class=HTMLResponse,
    responses={
        401: {
            "description": "No session to end (a page), or a credential that is not valid "
            "(JSON, as everywhere).",
            "content": {"text/html": {}, **error_responses(NotAuthenticated)[401]["content"]},
        }
    },
)
async def logout(
    request: Request, db: DB, settings: AppSettings, principal: OptionalPrincipal
) -> Response:
    if not isinstance(principal, UserPrincipal):
        # Nothing to end: said as such (401), so a client can tell it had no session.
        return problem_page(
            request, "Not signed in", "There is no session to end", DEFAULT_NEXT, 401
        )
    user = await repo.user(db, principal.user_id)
    provider = settings.oidc_provider(user.oauth_provider or "") if user else None
    await auth_service.logout(db, principal)
    body = '<h1>Signed out</h1><p class="ok">You are signed out of zenpro.</p>'
    if provider is not None:
        end = await _end_session(settings, provider, request)
        if end:
            body += f'<p><a href="{escape(end)}">Also sign out of {escape(provider.name)}</a></p>'
    body += f'<p><a href="{escape(_login_link(request, DEFAULT_NEXT))}">Sign in again</a></p>'
    response = render("Signed out", body)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response


async def _end_session(
    settings: Settings, provider: OIDCProviderConfig, request: Request
) -> str | None:
    try:
        doc = await discovery.metadata(provider)
    except SSOError:
        return None
    end = doc.get("end_session_endpoint")
    if not isinstance(end, str):
        return None
    query = {
        "client_id": provider.client_id,
        "post_logout_redirect_uri": f"{settings.base_url}/login",
    }
    sep = "&" if "?" in end else "?"
    return end + sep + urlencode(query, quote_via=quote)
