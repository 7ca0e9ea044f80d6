"""/auth and /users/me/sessions: logging in and out, and the sessions a user holds."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from zenpro import routing
from zenpro.auth import repository as repo
from zenpro.auth import service
from zenpro.auth.deps import COOKIE_NAME, CurrentPrincipal, CurrentUser, _same_origin
from zenpro.auth.principal import Principal
from zenpro.auth.schemas import OAuthError, SessionRead, TokenResponse
from zenpro.authz.guards import Public
from zenpro.config import Settings
from zenpro.deps import DB, AppSettings
from zenpro.devices import service as devices
from zenpro.errors import Forbidden, NotAuthenticated, NotFound, error_responses
from zenpro.kit.db import utcnow
from zenpro.kit.net import client_ip
from zenpro.kit.pagination import Paged
from zenpro.kit.schemas import Empty, text
from zenpro.models import Token
from zenpro.ratelimit import forms

router = routing.router(tags=["auth"])
# Every answer under /auth/ is no-store (kit.middleware); this is for pages elsewhere.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def set_session_cookie(response: Response, settings: Settings, issued: service.Issued) -> None:
    response.set_cookie(
        COOKIE_NAME,
        issued.secret,
        max_age=issued.expires_in,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )


def oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    body = OAuthError(error=error, error_description=description, status_code=status)
    return JSONResponse(body.model_dump(), status_code=status)


DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
GRANT_TYPES = ("password", "client_credentials", DEVICE_GRANT)


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


class LoginFields(BaseModel):
    """The fields of ``POST /auth/login`` (an urlencoded form, see ``ratelimit.forms``).

    Unknown fields are ignored, as OAuth requires of a token endpoint (RFC 6749 §3.2)."""

    model_config = ConfigDict(extra="ignore")

    username: Annotated[str, text(255)] | None = Field(None, description="Local account name.")
    password: Annotated[str, text(1024)] | None = Field(
        None, description="Its password, or a `ZENPROKEY_` API key."
    )
    grant_type: str | None = Field(
        None,
        max_length=128,
        description=f"Absent, `password`, `client_credentials` or `{DEVICE_GRANT}` (any other: "
        "400 `unsupported_grant_type`).",
        json_schema_extra={"enum": list(GRANT_TYPES)},
    )
    client_id: Annotated[str, text(64)] | None = Field(
        None, description="Workspace id (client credentials) or device client id."
    )
    client_secret: Annotated[str, text(1024)] | None = Field(
        None, description="The workspace's enrollment key."
    )
    audience: Annotated[str, text(1024)] | None = Field(
        None, description="Ignored; ZenML sends it."
    )
    device_code: Annotated[str, text(1024)] | None = Field(None, description="Device-flow code.")


SharedForm = Annotated[forms.LoginForm, Depends(forms.shared_form)]
CROSS_SITE_LOGIN = (
    "This sign-in was sent from another site and refused: sign in on this server's own "
    "login page, or send the request without a browser"
)


def is_cross_site(request: Request, settings: Settings, *, allow_cors: bool) -> bool:
    """Login CSRF defence: is this login post a browser's, sent from another site?

    A page elsewhere could otherwise sign a victim's browser into the attacker's account
    (and see what the victim then types into it). Browsers say where a request comes from
    (``Origin``, ``Sec-Fetch-Site``); whether that is us is the same rule as for
    cookie-authenticated writes (``auth.deps._same_origin``: ``Sec-Fetch-Site``
    same-origin/none, or an ``Origin`` of ``ZENPRO_BASE_URL``). Unlike those writes, a
    request with neither header is no browser's (CLI, scripts, workspace servers) and
    is served. ``allow_cors``: the API endpoint also takes ``ZENPRO_CORS_ORIGINS``, the
    browser origins the operator allows to call the API.
    """
    headers = request.headers
    if "origin" not in headers and "sec-fetch-site" not in headers:
        return False
    if _same_origin(request):
        return False
    origin = headers.get("origin", "").rstrip("/")
    return not (allow_cors and origin and origin in settings.cors_origins)


@router.post(
    "/auth/login",
    response_model=TokenResponse,
    response_model_exclude_none=True,
    summary="Log in (OAuth token endpoint)",
    description=(
        "An `application/x-www-form-urlencoded` form (anything else: 415; a field sent "
        "twice: 400). Dispatches on its fields (spec §4):\n"
        "- `username`+`password` (no grant or `password`): local login; also sets the "
        "session cookie;\n"
        "- no `grant_type`, `password=<ZENPROKEY_ key>` (also sent as Bearer): exchange "
        "an API key for an access token;\n"
        "- `grant_type=client_credentials`, `client_id=<workspace id>`, "
        "`client_secret=<enrollment key>`, `audience`: workspace machine token;\n"
        f"- `grant_type={DEVICE_GRANT}`, `client_id`, `device_code`: device poll; "
        "errors are 400 with only the OAuth keys.\n\n"
        "A browser's post from another site is refused (403)."
    ),
    dependencies=[Public],
    openapi_extra=forms.openapi_body(LoginFields, required=False),
    responses={
        **error_responses(NotAuthenticated, Forbidden),
        400: {
            "model": OAuthError,
            "description": "OAuth error (malformed form, repeated field, device poll, bad grant)",
        },
        403: {
            "model": OAuthError,
            "description": "A browser's login from another site (OAuth error), or a "
            "deactivated workspace (IllegalOperationError)",
        },
        415: {"model": OAuthError, "description": "Not an urlencoded form (OAuth error)"},
    },
)
async def login(
    request: Request, response: Response, db: DB, settings: AppSettings, form: SharedForm
) -> TokenResponse | JSONResponse:
    if is_cross_site(request, settings, allow_cors=True):
        return oauth_error("access_denied", CROSS_SITE_LOGIN, 403)
    if form.problem is not None:
        return oauth_error("invalid_request", form.problem.message, form.problem.status)
    try:
        fields = LoginFields.model_validate(form.values())
    except ValidationError as exc:
        return oauth_error("invalid_request", forms.describe(exc))
    return await _grant(request, response, db, settings, fields)


async def _grant(
    request: Request, response: Response, db: DB, settings: Settings, f: LoginFields
) -> TokenResponse | JSONResponse:
    user_agent = request.headers.get("user-agent")
    ip = client_ip(request.scope, settings)
    if f.grant_type == "client_credentials":
        if not f.client_id or not f.client_secret:
            return oauth_error("invalid_request", "Send client_id and client_secret")
        issued = await service.login_machine(db, settings, f.client_id, f.client_secret)
        return TokenResponse(access_token=issued.secret, expires_in=issued.expires_in)
    if f.grant_type == DEVICE_GRANT:
        return await _device_poll(db, settings, f.client_id, f.device_code)
    if f.grant_type in (None, "password") and f.username and f.password is not None:
        issued, _user = await service.login_password(
            db, settings, f.username, f.password, user_agent=user_agent, ip=ip
        )
        set_session_cookie(response, settings, issued)
        return TokenResponse(access_token=issued.secret, expires_in=issued.expires_in)
    if f.grant_type is None and (f.password or _bearer(request)):
        key = f.password or _bearer(request) or ""
        issued = await service.login_api_key(db, settings, key, user_agent=user_agent, ip=ip)
        return TokenResponse(access_token=issued.secret, expires_in=issued.expires_in)
    return oauth_error(
        "unsupported_grant_type",
        "Send username and password, an API key as password, client credentials or a "
        "device code (form-encoded)",
    )


async def _device_poll(
    db: DB, settings: Settings, client_id: str | None, device_code: str | None
) -> TokenResponse | JSONResponse:
    if not client_id or not device_code:
        return oauth_error("invalid_request", "Send client_id and device_code")
    try:
        issued, device = await devices.poll(db, settings, client_id, device_code)
    except devices.DeviceGrantError as exc:
        # Returned, not raised: the request still commits last_poll (slow_down).
        return oauth_error(exc.error, exc.description)
    metadata = {"tenant_id": str(device.workspace_id)} if device.workspace_id else None
    return TokenResponse(
        access_token=issued.secret,
        expires_in=issued.expires_in,
        device_id=device.id,
        device_metadata=metadata,
    )


@router.get("/auth/api_token", response_model_exclude_none=True)
async def get_api_token(db: DB, actor: CurrentUser) -> TokenResponse:
    """Get an API token

    A one-hour access token for the current user, for scripts.
    """
    issued = await service.api_token(db, actor)
    return TokenResponse(access_token=issued.secret, expires_in=issued.expires_in)


@router.post("/auth/logout")
async def logout(response: Response, db: DB, actor: CurrentPrincipal) -> Empty:
    """Log out

    Revokes the session or token used for this request and clears the cookie.
    """
    await service.logout(db, actor)
    response.delete_cookie(COOKIE_NAME, path="/")
    return Empty()


def _session_read(token: object, actor: Principal) -> SessionRead:
    item = SessionRead.model_validate(token)
    return item.model_copy(update={"current": item.id == actor.token_id})


@router.get("/users/me/sessions")
async def list_my_sessions(db: DB, actor: CurrentUser, paging: Paged) -> list[SessionRead]:
    """List my sessions

    Every live session and token of the current user; `current` marks this one. Bare JSON
    array, oldest first; `X-Total-Count` and `Link` headers.
    """
    stmt = repo.sessions_stmt(actor.user_id, utcnow())
    tokens = await paging.fetch(db, stmt, Token.created, Token.id)
    return [_session_read(t, actor) for t in tokens]


@router.delete(
    "/users/me/sessions/{session_id}",
    summary="Revoke one of my sessions",
    responses=error_responses(NotFound),
)
async def revoke_my_session(db: DB, actor: CurrentUser, session_id: uuid.UUID) -> Empty:
    token = await repo.get_user_token(db, actor.user_id, session_id)
    if token is None:
        raise NotFound(f"Session {session_id} not found")
    await repo.delete_token(db, token.id)
    return Empty()
