"""/auth and /users/me/sessions: logging in and out, and the sessions a user holds."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import JSONResponse

from zenpro.auth import devices, service
from zenpro.auth import repository as repo
from zenpro.auth.deps import COOKIE_NAME, CurrentPrincipal, CurrentUser
from zenpro.auth.principal import Principal
from zenpro.auth.schemas import OAuthError, SessionRead, TokenResponse
from zenpro.authz.guards import Public
from zenpro.config import Settings
from zenpro.errors import Forbidden, NotAuthenticated, NotFound, error_responses
from zenpro.kit.db import utcnow
from zenpro.kit.deps import DB, AppSettings
from zenpro.kit.net import client_ip
from zenpro.kit.schemas import Empty

router = APIRouter(tags=["auth"])
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


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


@router.post(
    "/auth/login",
    response_model=TokenResponse,
    response_model_exclude_none=True,
    summary="Log in (OAuth token endpoint)",
    description=(
        "Form-encoded. Dispatches on its fields (spec §4):\n"
        "- `username`+`password` (no grant or `password`): local login; also sets the "
        "session cookie;\n"
        "- no `grant_type`, `password=<ZENPROKEY_ key>` (also sent as Bearer): exchange "
        "an API key for an access token;\n"
        "- `grant_type=client_credentials`, `client_id=<workspace id>`, "
        "`client_secret=<enrollment key>`, `audience`: workspace machine token;\n"
        f"- `grant_type={DEVICE_GRANT}`, `client_id`, `device_code`: device poll; "
        "errors are 400 with only the OAuth keys."
    ),
    operation_id="login",
    dependencies=[Public],
    responses={
        **error_responses(NotAuthenticated, Forbidden),
        400: {"model": OAuthError, "description": "OAuth error (device poll, bad grant)"},
    },
)
async def login(
    request: Request,
    response: Response,
    db: DB,
    settings: AppSettings,
    username: Annotated[str | None, Form(max_length=255)] = None,
    password: Annotated[str | None, Form(max_length=1024)] = None,
    grant_type: Annotated[str | None, Form(max_length=128)] = None,
    client_id: Annotated[str | None, Form(max_length=64)] = None,
    client_secret: Annotated[str | None, Form(max_length=1024)] = None,
    audience: Annotated[str | None, Form(max_length=1024)] = None,
    device_code: Annotated[str | None, Form(max_length=1024)] = None,
) -> TokenResponse | JSONResponse:
    user_agent = request.headers.get("user-agent")
    ip = client_ip(request.scope, settings)
    if grant_type == "client_credentials":
        if not client_id or not client_secret:
            return oauth_error("invalid_request", "Send client_id and client_secret")
        issued = await service.login_machine(db, settings, client_id, client_secret)
        return TokenResponse(access_token=issued.secret, expires_in=issued.expires_in)
    if grant_type == DEVICE_GRANT:
        return await _device_poll(db, settings, client_id, device_code)
    if grant_type in (None, "", "password") and username and password is not None:
        issued, _user = await service.login_password(
            db, settings, username, password, user_agent=user_agent, ip=ip
        )
        set_session_cookie(response, settings, issued)
        return TokenResponse(access_token=issued.secret, expires_in=issued.expires_in)
    if grant_type in (None, "") and (password or _bearer(request)):
        key = password or _bearer(request) or ""
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


@router.get(
    "/auth/api_token",
    response_model=TokenResponse,
    response_model_exclude_none=True,
    summary="Get an API token",
    description="A one-hour access token for the current user, for scripts.",
    operation_id="get_api_token",
    responses=error_responses(NotAuthenticated, Forbidden),
)
async def get_api_token(db: DB, actor: CurrentUser) -> TokenResponse:
    issued = await service.api_token(db, actor)
    return TokenResponse(access_token=issued.secret, expires_in=issued.expires_in)


@router.post(
    "/auth/logout",
    response_model=Empty,
    summary="Log out",
    description="Revokes the session or token used for this request and clears the cookie.",
    operation_id="logout",
    responses=error_responses(NotAuthenticated),
)
async def logout(response: Response, db: DB, actor: CurrentPrincipal) -> Empty:
    await service.logout(db, actor)
    response.delete_cookie(COOKIE_NAME, path="/")
    return Empty()


def _session_read(token: object, actor: Principal) -> SessionRead:
    item = SessionRead.model_validate(token)
    return item.model_copy(update={"current": item.id == actor.token_id})


@router.get(
    "/users/me/sessions",
    response_model=list[SessionRead],
    summary="List my sessions",
    description="Every live session and token of the current user; `current` marks this one.",
    operation_id="list_my_sessions",
    responses=error_responses(NotAuthenticated, Forbidden),
)
async def list_sessions(db: DB, actor: CurrentUser) -> list[SessionRead]:
    assert actor.user_id is not None
    tokens = await repo.user_sessions(db, actor.user_id, utcnow())
    return [_session_read(t, actor) for t in tokens]


@router.delete(
    "/users/me/sessions/{session_id}",
    response_model=Empty,
    summary="Revoke one of my sessions",
    operation_id="revoke_my_session",
    responses=error_responses(NotAuthenticated, Forbidden, NotFound),
)
async def revoke_session(db: DB, actor: CurrentUser, session_id: uuid.UUID) -> Empty:
    assert actor.user_id is not None
    token = await repo.get_user_token(db, actor.user_id, session_id)
    if token is None:
        raise NotFound(f"Session {session_id} not found")
    await repo.delete_token(db, token.id)
    return Empty()
