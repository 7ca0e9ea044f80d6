"""/auth and /users/me/sessions: logging in and out, and the sessions a user holds."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import JSONResponse

from zenpro.auth import repository as repo
from zenpro.auth import service
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
    return JSONResponse(body.model_dump(), status_code=status, headers=NO_STORE)


@router.post(
    "/auth/login",
    response_model=TokenResponse,
    response_model_exclude_none=True,
    summary="Log in (OAuth token endpoint)",
    description=(
        "Form-encoded. Dispatches on its fields (spec §4): `username`+`password` "
        "(local login; also sets the session cookie)."
    ),
    operation_id="login",
    dependencies=[Public],
    responses={
        **error_responses(NotAuthenticated),
        400: {"model": OAuthError, "description": "OAuth error (unsupported grant)"},
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
) -> TokenResponse | JSONResponse:
    response.headers.update(NO_STORE)
    if grant_type in (None, "", "password") and username and password is not None:
        issued, _user = await service.login_password(
            db,
            settings,
            username,
            password,
            user_agent=request.headers.get("user-agent"),
            ip=client_ip(request.scope, settings),
        )
        set_session_cookie(response, settings, issued)
        return TokenResponse(access_token=issued.secret, expires_in=issued.expires_in)
    return oauth_error(
        "unsupported_grant_type",
        "Send username and password (form-encoded) to log in",
    )


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
    response.headers.update(NO_STORE)
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
