"""Authentication dependencies: resolve the caller once, then typed guards.

Every route declares exactly one guard from here (or from ``authz.guards``); the route
meta-test fails on a route without one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Query, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from zenpro.auth import service
from zenpro.auth.principal import Kind, MachinePrincipal, Principal, UserPrincipal
from zenpro.deps import DB
from zenpro.errors import Forbidden, NotAuthenticated, raises
from zenpro.kit.lookup import Loading
from zenpro.kit.schemas import TEXT_PATTERN

COOKIE_NAME = "zenpro_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="A session token, API token, device token, `ZENPROKEY_` key or machine token.",
)
cookie_scheme = APIKeyCookie(
    name=COOKIE_NAME, auto_error=False, description="The browser session cookie from /login."
)


def _same_origin(request: Request) -> bool:
    """Cookie-authenticated writes must come from our own pages (CSRF defence)."""
    site = request.headers.get("sec-fetch-site")
    if site in ("same-origin", "none"):
        return True
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return False
    parts = urlsplit(origin)
    allowed = {
        urlsplit(request.app.state.settings.base_url).netloc,
        request.headers.get("host", ""),
    }
    return parts.scheme in ("http", "https") and parts.netloc in allowed


Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]
Cookie = Annotated[str | None, Depends(cookie_scheme)]


@raises(NotAuthenticated, Forbidden)  # a credential sent but not valid: 401
async def get_optional_principal(
    request: Request, db: DB, bearer: Bearer, cookie: Cookie
) -> Principal | None:
    return await _principal(request, db, bearer, cookie, None)


async def _principal(
    request: Request, db: DB, bearer: Bearer, cookie: Cookie, audience: uuid.UUID | None
) -> Principal | None:
    """The caller by Bearer, else by session cookie (writes: same origin only); an
    ``exchange`` token only where ``audience`` is its workspace (``service.resolve``)."""
    if bearer is not None:
        principal = await service.resolve(Loading(db), bearer.credentials, audience=audience)
    elif cookie:
        principal = await service.resolve(Loading(db), cookie, via_cookie=True, audience=audience)
        if request.method not in SAFE_METHODS and not _same_origin(request):
            raise Forbidden(
                "Cross-origin request with a session cookie refused: send the request from "
                "this server's pages, or authenticate with a Bearer token"
            )
    else:
        return None
    request.state.principal = principal
    return principal


@raises(NotAuthenticated)
async def get_principal(
    principal: Annotated[Principal | None, Depends(get_optional_principal)],
) -> Principal:
    if principal is None:
        raise NotAuthenticated()
    return principal


def user_only(principal: Principal) -> UserPrincipal:
    """A user or service account, else 403: workspace servers are no users (the routes'
    guard and the fast lane ask this same question)."""
    if not isinstance(principal, UserPrincipal):
        raise Forbidden("This endpoint is for users and service accounts, not workspaces")
    return principal


def machine_only(principal: Principal) -> MachinePrincipal:
    """A workspace server's machine token, else 403: only a workspace asks RBAC questions
    about its users (the routes' guard and the fast lane ask this same question)."""
    if not isinstance(principal, MachinePrincipal):
        raise Forbidden("Only a workspace server (machine token) may call this")
    return principal


@raises(Forbidden)
async def get_user_principal(
    principal: Annotated[Principal, Depends(get_principal)],
) -> UserPrincipal:
    return user_only(principal)


@raises(Forbidden)
async def get_workspace_machine(
    principal: Annotated[Principal, Depends(get_principal)],
) -> MachinePrincipal:
    return machine_only(principal)


@raises(Forbidden)
async def get_human(
    principal: Annotated[UserPrincipal, Depends(get_user_principal)],
) -> UserPrincipal:
    if principal.kind is not Kind.user:
        raise Forbidden("Service accounts cannot do this")
    return principal


@raises(Forbidden)
async def get_superuser(
    principal: Annotated[UserPrincipal, Depends(get_user_principal)],
) -> UserPrincipal:
    if not principal.is_superuser:
        raise Forbidden("Only a superuser may do this")
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(get_optional_principal)]
CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


@dataclass(frozen=True, slots=True)
class ServerSignIn:
    """Who a workspace server asks to sign in, and the server's workspace id as sent."""

    user: UserPrincipal
    server_id: str


@raises(NotAuthenticated, Forbidden)
async def get_server_sign_in(
    request: Request,
    db: DB,
    bearer: Bearer,
    cookie: Cookie,
    server_id: Annotated[
        str, Query(max_length=64, pattern=TEXT_PATTERN, description="The workspace id.")
    ],
) -> ServerSignIn:
    """``GET /users/authorize_server``'s caller: any user credential, and also the
    console's ``exchange`` token made for this very workspace (and for nothing else)."""
    try:
        audience: uuid.UUID | None = uuid.UUID(server_id)
    except ValueError:
        audience = None
    principal = await _principal(request, db, bearer, cookie, audience)
    if principal is None:
        raise NotAuthenticated()
    return ServerSignIn(user_only(principal), server_id)


CurrentUser = Annotated[UserPrincipal, Depends(get_user_principal)]
ServerSigningIn = Annotated[ServerSignIn, Depends(get_server_sign_in)]
CurrentHuman = Annotated[UserPrincipal, Depends(get_human)]
Superuser = Annotated[UserPrincipal, Depends(get_superuser)]
WorkspaceMachine = Annotated[MachinePrincipal, Depends(get_workspace_machine)]
