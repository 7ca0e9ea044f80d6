"""The console's page shell (title, breadcrumbs, sign-out), its headers (strict CSP: our
own stylesheet and one small script, both served from the package: no inline script or
style), and the error pages.

:class:`ConsoleRoute` renders what a guard or a service raises (``errors.ZenproError``)
as a page with the API's status, after rolling the request's transaction back; a caller
who is not signed in is sent through ``/login?next=…`` when it is a browser (it asks for
HTML), and gets the API's 401 otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro import routing
from zenpro.console import csrf
from zenpro.console.forms import Form
from zenpro.console.html import Markup, h, join, render_file
from zenpro.deps import DB
from zenpro.errors import NotAuthenticated, ZenproError
from zenpro.routing import DocumentedRoute

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-store"}
SESSION_KEY = "console_db"


def base(request: Request) -> str:
    """Where the app is served for this request (``/api/v1`` under the alias, or the ASGI
    root path): every link and form action starts with it."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def url(request: Request, path: str) -> str:
    return base(request) + path


@dataclass(frozen=True)
class Crumb:
    label: str
    path: str | None = None  # None: the current page


def _crumbs(request: Request, crumbs: Sequence[Crumb]) -> Markup:
    items = [Crumb("Console", "/console"), *crumbs]
    out = []
    for i, c in enumerate(items):
        if c.path is None or i == len(items) - 1:
            out.append(h('<li><span aria-current="page">$l</span></li>', l=c.label))
        else:
            out.append(h('<li><a href="$u">$l</a></li>', u=url(request, c.path), l=c.label))
    return join(out)


def hidden_csrf(request: Request) -> Markup:
    return h('<input type="hidden" name="$f" value="$v">', f=csrf.FIELD, v=csrf.token(request))


def _account(request: Request) -> Markup:
    if getattr(request.state, "principal", None) is None:
        return h('<a class="signin" href="$u">Sign in</a>', u=url(request, "/login"))
    return h(
        '<nav class="account" aria-label="Account"><a href="$a">My account</a>'
        '<form class="signout" method="post" action="$u">$t'
        '<button type="submit" class="link">Sign out</button></form></nav>',
        a=url(request, "/console/account"),
        u=url(request, "/console/logout"),
        t=hidden_csrf(request),
    )


_HOST = re.compile(r"^[a-z0-9.-]{1,253}$")


def image_origin(address: str | None) -> str | None:
    """The origin (scheme, host, port) of an image address for the CSP's ``img-src``, or
    None when it cannot be spelled safely there (only plain host names and ports)."""
    if not address:
        return None
    try:
        parts = urlsplit(address)
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not _HOST.fullmatch(host):
        return None
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def headers_for(images: str | None) -> dict[str, str]:
    """The page's headers; ``images``: one more origin images may come from (an
    organization's logo), from :func:`image_origin`."""
    if images is None:
        return HEADERS
    csp = CSP.replace("img-src 'self' data:", f"img-src 'self' data: {images}")
    return {**HEADERS, "Content-Security-Policy": csp}


def page(
    request: Request,
    title: str,
    body: Markup,
    crumbs: Sequence[Crumb] = (),
    *,
    status: int = 200,
    notice: Markup | None = None,
    heading: str | None = None,
    images: str | None = None,
) -> HTMLResponse:
    html = render_file(
        "layout.html",
        title=title,
        heading=heading or title,
        base=base(request),
        account=_account(request),
        crumbs=_crumbs(request, crumbs),
        notice=notice,
        body=body,
    )
    return HTMLResponse(html, status_code=status, headers=headers_for(images))


def flash(message: str, kind: str = "ok") -> Markup:
    role = "status" if kind == "ok" else "alert"
    return h('<p class="notice $k" role="$r">$m</p>', k=kind, r=role, m=message)


class Notices(dict[str, str]):
    """A page's messages after a redirect, by the key in its ``?notice=``."""

    def of(self, key: str | None) -> Markup | None:
        """The message for ``key`` as a flash; None for a key this page does not know."""
        return flash(self[key]) if key is not None and key in self else None


class Shown(TypedDict, total=False):
    """What a page shows besides its own data, passed on as keywords: the form as posted
    (its values and errors), the API's refusal in words, a notice, the status."""

    form: Form | None
    problem: str | None
    notice: Markup | None
    status: int
    images: str | None


class Refusal(TypedDict):
    """The part of :class:`Shown` an API refusal fills in (passed on with the form)."""

    problem: str
    status: int


def refused(exc: ZenproError) -> Refusal:
    """The API's refusal, shown on the page it came from with the API's status."""
    return {"problem": exc.message, "status": exc.status_code}


def refused_notice(exc: ZenproError) -> Shown:
    """The API's refusal of a one-button action, as the page's notice, with its status."""
    return {"notice": flash(exc.message, "error"), "status": exc.status_code}


def shown_page(
    request: Request, title: str, body: Markup, crumbs: Sequence[Crumb], shown: Shown
) -> HTMLResponse:
    """:func:`page` with the notice and status of ``shown``."""
    return page(
        request,
        title,
        body,
        crumbs,
        notice=shown.get("notice"),
        status=shown.get("status", 200),
        images=shown.get("images"),
    )


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


_TITLES = {
    401: "Sign-in needed",
    403: "Not allowed",
    404: "Not found",
    409: "Not possible right now",
    402: "Limit reached",
    422: "Invalid request",
}


def error_page(request: Request, exc: ZenproError) -> Response:
    status = exc.status_code
    if isinstance(exc, NotAuthenticated) and wants_html(request):
        back = request.url.path if request.method == "GET" else "/console"
        query = f"?{request.url.query}" if request.url.query and request.method == "GET" else ""
        target = url(request, "/login") + "?" + urlencode({"next": back + query})
        return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
    text = "This page does not exist, or you may not see it." if status == 404 else exc.message
    body = h(
        '<p class="notice error" role="alert">$m</p><p><a href="$u">Back to the console</a></p>',
        m=text,
        u=url(request, "/console"),
    )
    response = page(request, _TITLES.get(status, "Something went wrong"), body, status=status)
    response.headers.update(exc.headers)
    return response


async def remember_session(request: Request, db: DB) -> None:
    """Keep the request's session where :class:`ConsoleRoute` can roll it back."""
    request.state.console_db = db


async def _rollback(request: Request) -> None:
    db: AsyncSession | None = getattr(request.state, SESSION_KEY, None)
    if db is not None and db.in_transaction():
        await db.rollback()


class ConsoleRoute(DocumentedRoute):
    """A console route: errors become pages (see the module docstring); whatever the
    request had written is rolled back first, so an error page never commits half a
    change."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def console_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except ZenproError as exc:
                await _rollback(request)
                return error_page(request, exc)
            except RequestValidationError as exc:
                await _rollback(request)
                return error_page(request, InvalidAddress(_describe(exc)))

        return console_handler


class InvalidAddress(ZenproError, status=422, code="invalid_request"):
    """A path or query parameter FastAPI refused (the API answers 422 too)."""


def _describe(exc: RequestValidationError) -> str:
    parts = []
    for e in exc.errors():
        where = ".".join(str(p) for p in e.get("loc", ())[1:]) or "request"
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    return "The address is not valid (" + "; ".join(parts) + ")"


def console_router() -> APIRouter:
    """A router of console pages: made by ``zenpro.routing.router()`` like every router,
    with :class:`ConsoleRoute` (errors as pages) and left out of the OpenAPI document (the
    API is the contract; these are its pages)."""
    made = routing.router(
        route_class=ConsoleRoute,
        include_in_schema=False,
        tags=["console"],
        dependencies=[Depends(remember_session)],
    )
    return made
