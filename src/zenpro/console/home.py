"""The console's entrance: ``/`` for browsers, the landing page (my organizations), the
stylesheet, and signing out."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from zenpro.auth import service as auth_service
from zenpro.auth.deps import COOKIE_NAME, CurrentPrincipal
from zenpro.auth.principal import Kind
from zenpro.authz.guards import Authenticated, Public
from zenpro.console import forms
from zenpro.console.html import Markup, h, join
from zenpro.console.layout import Notices, console_router, page, url, wants_html
from zenpro.console.paging import Offset, pager, params
from zenpro.console.widgets import empty, link, row
from zenpro.deps import DB
from zenpro.kit.pagination import fetch_page
from zenpro.kit.schemas import TEXT_PATTERN
from zenpro.models import Organization
from zenpro.organizations import service as orgs

router = console_router()
NO_STORE = {"Cache-Control": "no-store"}
NOTICES = Notices({"deleted": "Organization deleted."})


@router.get("/", dependencies=[Public])
async def root(request: Request) -> Response:
    """A browser asking for ``/`` is sent to the console; anyone else gets the 404 the
    root has always answered (it is no API resource)."""
    if wants_html(request):
        return RedirectResponse(url(request, "/console"), status_code=303, headers=NO_STORE)
    return JSONResponse({"detail": "Not Found"}, status_code=404)


STATIC = {"console.css": "text/css", "console.js": "text/javascript"}
# zenpro's mark, kept here rather than as a file (the package data lists CSS and JS only).
LOGO = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">'
    b'<title>zenpro</title><rect width="64" height="64" rx="14" fill="#5b2bd6"/>'
    b'<path d="M18 20h28L22 44h24" fill="none" stroke="#fff" stroke-width="7" '
    b'stroke-linecap="round" stroke-linejoin="round"/></svg>'
)


@lru_cache
def _asset(name: str) -> bytes:
    return files("zenpro.console").joinpath("static", name).read_bytes()


@router.get("/console/static/console.css", dependencies=[Public])
async def console_stylesheet() -> Response:
    """The console's only stylesheet, served from the package (no CDN)."""
    return _static("console.css")


@router.get("/console/static/console.js", dependencies=[Public])
async def console_script() -> Response:
    """The console's only script (local times, copy buttons): an enhancement, never needed."""
    return _static("console.js")


@router.get("/console/static/logo.svg", dependencies=[Public])
async def console_logo() -> Response:
    """zenpro's mark, e.g. as an organization's logo (``logo_url``) served from here."""
    return Response(
        LOGO, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=300"}
    )


def _static(name: str) -> Response:
    return Response(
        _asset(name), media_type=STATIC[name], headers={"Cache-Control": "public, max-age=300"}
    )


def _org_row(request: Request, org: Organization) -> Markup:
    return row(
        link(request, f"/console/organizations/{org.id}", org.name),
        {"Display name": org.display_name or "", "Description": org.description or ""},
    )


def _search(request: Request, name: str | None) -> Markup:
    return h(
        '<form method="get" action="$a" class="search" role="search">'
        '<label for="q">Organization name</label>'
        '<input id="q" name="name" value="$v" autocomplete="off">'
        '<button type="submit" class="secondary">Find</button></form>',
        a=url(request, "/console"),
        v=name or "",
    )


@router.get("/console")
async def console_home(
    request: Request,
    db: DB,
    access: Authenticated,
    offset: Offset = 0,
    name: Annotated[
        str | None, Query(max_length=255, pattern=TEXT_PATTERN, description="Exact name.")
    ] = None,
    notice: Annotated[str | None, Query(max_length=32, description="Which message.")] = None,
) -> Response:
    """My organizations: the console's landing page."""
    wanted = forms.optional(name or "")
    stmt = orgs.list_stmt(access, name=wanted, owner_id=None)
    listed = await fetch_page(db, stmt, params(offset), Organization.name, Organization.id)
    items: list[Organization] = listed.items
    may_create = access.principal.kind is Kind.user
    actions = (
        link(request, "/console/organizations/new", "Create an organization", "button")
        if may_create
        else Markup("")
    )
    if items:
        listing = h(
            "<table><caption>Organizations you belong to</caption><thead><tr>"
            '<th scope="col">Name</th><th scope="col">Display name</th>'
            '<th scope="col">Description</th></tr></thead><tbody>$rows</tbody></table>$pager',
            rows=join(_org_row(request, o) for o in items),
            pager=pager(request, "/console", offset, listed, name=wanted or ""),
        )
    elif wanted:
        listing = empty(f"No organization of yours is named {wanted!r}.")
    else:
        listing = empty(
            "You belong to no organization yet. Create one, or ask an organization's "
            "administrator to invite you."
        )
    body = h(
        '<div class="toolbar">$search$actions</div>$listing',
        search=_search(request, wanted),
        actions=actions,
        listing=listing,
    )
    shown = NOTICES.of(notice)
    return page(request, "Your organizations", body, notice=shown)


@router.post("/console/logout")
async def console_logout(request: Request, db: DB, principal: CurrentPrincipal) -> Response:
    """Sign out: the session ends on the server, the cookie is cleared."""
    await forms.read(request)
    await auth_service.logout(db, principal)
    response = RedirectResponse(url(request, "/login"), status_code=303, headers=NO_STORE)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response
