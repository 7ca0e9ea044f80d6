"""The browser hand-off from a Pro-mode ZenML server to the console.

A ZenML 0.98 server started with ``ZENML_SERVER_PRO_DASHBOARD_URL=<zenpro>/console``
sends every browser visit to ``<zenpro>/console/workspaces/<name>`` (the workspace page,
``console.workspaces``: a visitor without a session goes through ``/login?next=…`` and
comes back) and names ``<zenpro>/console/api/auth/login`` as its ``authorization_url``,
with no query parameters (spec browser-handoff.md). That login entry therefore works out
where the user came from, trusting only same-site relative targets under ``/console``:

1. ``?next=`` if one is given (ZenML sends none; a console link may);
2. the ``Referer``: a console page of this server, or the address of a workspace's ZenML
   server (→ that workspace's page);
3. the workspace whose page this browser last showed (a cookie holding its name);
4. else ``/console``.

Signed in, the browser goes there; otherwise through ``/login`` (password or single
sign-on), which brings it back. No target can leave this server (no open redirect).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import unquote, urlencode, urlsplit

from fastapi import Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.auth.deps import OptionalPrincipal
from zenpro.auth.principal import UserPrincipal
from zenpro.config import Settings
from zenpro.console.layout import base, console_router, url
from zenpro.deps import DB, AppSettings
from zenpro.kit.schemas import TEXT_PATTERN, is_slug
from zenpro.models import Workspace

router = console_router()
LOGIN_ENTRY = "/console/api/auth/login"
LAST_WORKSPACE_COOKIE = "zenpro_last_workspace"
LAST_WORKSPACE_DAYS = 30
MAX_TARGET = 2048
NO_STORE = {"Cache-Control": "no-store"}


def _own_hosts(request: Request, settings: Settings) -> set[str]:
    return {urlsplit(settings.base_url).netloc, request.headers.get("host", "")} - {""}


def local_target(request: Request, settings: Settings, raw: str | None) -> str | None:
    """``raw`` (a path, or an absolute URL of this very server) as a path under this
    app's ``/console`` (query kept, fragment dropped), or None: another host, another
    scheme, a protocol-relative or backslashed path, control characters, a path outside
    the console, or the login entry itself (a loop)."""
    if not raw or len(raw) > MAX_TARGET or any(ord(c) < 32 or ord(c) == 127 for c in raw):
        return None
    parts = urlsplit(raw)
    foreign = parts.scheme not in ("http", "https") or parts.netloc not in _own_hosts(
        request, settings
    )
    if (parts.scheme or parts.netloc) and foreign:
        return None
    path = parts.path
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return None
    # Browsers resolve "." and ".." segments, "%2e%2e" too: refuse them all.
    if any(seg in (".", "..") for seg in unquote(path).split("/")):
        return None
    console = base(request) + "/console"
    if path != console and not path.startswith(console + "/"):
        return None
    if path.rstrip("/") == base(request) + LOGIN_ENTRY:
        return None
    return path + (f"?{parts.query}" if parts.query else "")


async def _workspace_at(db: AsyncSession, origin: str) -> str | None:
    """The live workspace whose ZenML server is at ``origin`` (its reported URL)."""
    stmt = (
        select(Workspace.name)
        .where(Workspace.server_url.in_([origin, origin + "/"]), Workspace.status != "deleted")
        .limit(1)
    )
    name: str | None = await db.scalar(stmt)
    return name


async def _from_referer(request: Request, db: AsyncSession, settings: Settings) -> str | None:
    referer = request.headers.get("referer")
    if not referer or len(referer) > MAX_TARGET:
        return None
    own = local_target(request, settings, referer)
    if own is not None:
        return own
    parts = urlsplit(referer)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    name = await _workspace_at(db, f"{parts.scheme}://{parts.netloc}")
    return workspace_path(request, name) if name else None


def workspace_path(request: Request, name: str) -> str:
    return url(request, f"/console/workspaces/{name}")


def last_workspace(request: Request) -> str | None:
    """The name in the last-workspace cookie, if it is a workspace name at all."""
    name = request.cookies.get(LAST_WORKSPACE_COOKIE)
    return name if name and is_slug(name) else None


def remember_workspace(request: Request, response: Response, name: str) -> None:
    """Remember the workspace whose page this browser was shown (a name, no secret), for
    the login entry to return to."""
    settings: Settings = request.app.state.settings
    response.set_cookie(
        LAST_WORKSPACE_COOKIE,
        name,
        max_age=LAST_WORKSPACE_DAYS * 86400,
        path=url(request, "/console"),
        secure=settings.base_url.startswith("https://"),
        httponly=True,
        samesite="lax",
    )


async def return_target(
    request: Request, db: AsyncSession, settings: Settings, given: str | None
) -> str:
    """Where the login entry sends the browser (see the module docstring)."""
    chosen = local_target(request, settings, given)
    if chosen is None:
        chosen = await _from_referer(request, db, settings)
    if chosen is None:
        name = last_workspace(request)
        chosen = workspace_path(request, name) if name else None
    return chosen or url(request, "/console")


@router.get(LOGIN_ENTRY)
async def console_auth_login(
    request: Request,
    db: DB,
    settings: AppSettings,
    principal: OptionalPrincipal,
    next: Annotated[
        str | None,
        Query(max_length=MAX_TARGET, pattern=TEXT_PATTERN, description="Where to go after."),
    ] = None,
) -> Response:
    """The sign-in entry a Pro-mode ZenML server names (its ``authorization_url``): a
    signed-in user goes back to where they came from, anyone else through ``/login``."""
    target = await return_target(request, db, settings, next)
    if isinstance(principal, UserPrincipal):
        return RedirectResponse(target, status_code=303, headers=NO_STORE)
    login = url(request, "/login") + "?" + urlencode({"next": target})
    return RedirectResponse(login, status_code=303, headers=NO_STORE)
