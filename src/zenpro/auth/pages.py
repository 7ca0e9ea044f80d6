"""Server-rendered HTML pages (no scripts, no external assets)."""

from __future__ import annotations

from functools import lru_cache
from html import escape
from importlib.resources import files
from string import Template
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from zenpro import routing
from zenpro.auth import service
from zenpro.auth.endpoints import (
    CROSS_SITE_LOGIN,
    SharedForm,
    is_cross_site,
    set_session_cookie,
)
from zenpro.authz.guards import Public
from zenpro.config import Settings
from zenpro.deps import DB, AppSettings
from zenpro.errors import NotAuthenticated
from zenpro.kit.net import client_of
from zenpro.kit.schemas import TEXT_PATTERN
from zenpro.ratelimit import forms

router = routing.router(dependencies=[Public], tags=["pages"], include_in_schema=True)
HTML_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {"Content-Security-Policy": HTML_CSP, "Cache-Control": "no-store"}


@lru_cache
def _template() -> Template:
    return Template(files("zenpro").joinpath("templates/page.html").read_text("utf-8"))


def render(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = _template().substitute(title=escape(title), body=body)
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


DEFAULT_NEXT = "/console"  # where a browser goes after signing in, unless told otherwise


def safe_next(target: str | None) -> str:
    """Only same-site relative paths: an open redirect would help phishing."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return DEFAULT_NEXT
    return target


def base_path(request: Request) -> str:
    """Where this app is served for this request: ``/api/v1`` under the alias
    (``kit.prefix``), else the ASGI server's root path. A page's links and form actions
    start with it, so a browser that came in under the prefix stays under it."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def _sso_buttons(request: Request, settings: Settings, next_url: str) -> str:
    """One "Sign in with <provider>" link per configured provider (``zenpro.sso``)."""
    base, query = escape(base_path(request)), escape(urlencode({"next": next_url}))
    links = "".join(
        f'<a class="button" href="{base}/auth/oidc/{escape(p.key)}/login?{query}">'
        f"Sign in with {escape(p.name)}</a>"
        for p in settings.oidc_providers
    )
    return f'<nav class="sso" aria-label="Single sign-on">{links}</nav>' if links else ""


def login_form(
    request: Request, next_url: str, error: str | None = None, status: int = 200
) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    err = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    form = _password_form(request, next_url)
    if not settings.password_login:
        # Break-glass only (README "Single sign-on"): folded away, still without scripts.
        form = (
            "<details><summary>Administrator sign-in (password sign-in is turned off)"
            f"</summary>{form}</details>"
        )
    body = f"""
<h1>Sign in to zenpro</h1>
<p class="sub">ZenML Pro control plane</p>
{err}
{_sso_buttons(request, settings, next_url)}
{form}"""
    return render("Sign in", body, status)


def _password_form(request: Request, next_url: str) -> str:
    return f"""
<form method="post" action="{escape(base_path(request))}/login">
  <input type="hidden" name="next" value="{escape(next_url)}">
  <label for="username">Username</label>
  <input id="username" name="username" autocomplete="username" required autofocus>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit">Sign in</button>
</form>"""


@router.get("/login", response_class=HTMLResponse)
async def login_page(
    request: Request,
    next: Annotated[
        str | None, Query(max_length=2048, pattern=TEXT_PATTERN, description="Where to go after.")
    ] = None,
) -> HTMLResponse:
    """Login page

    HTML sign-in form; after login the browser goes to `next` (default /console).
    """
    return login_form(request, safe_next(next))


class PageLoginFields(BaseModel):
    """The fields of the sign-in form (``POST /login``, urlencoded, see ``ratelimit.forms``)."""

    model_config = ConfigDict(extra="ignore")

    username: str = Field(
        min_length=1, max_length=255, pattern=TEXT_PATTERN, description="Account name."
    )
    password: str = Field(
        min_length=1, max_length=1024, pattern=TEXT_PATTERN, description="Its password."
    )
    next: str | None = Field(
        None, max_length=2048, pattern=TEXT_PATTERN, description="Where to go after."
    )


def _target(form: forms.LoginForm) -> str:
    raw = form.fields.get("next")
    return safe_next(raw if raw is None or len(raw) <= 2048 else None)


@router.post(
    "/login",
    response_class=HTMLResponse,
    openapi_extra=forms.openapi_body(PageLoginFields, required=True),
    responses={
        303: {"description": "Logged in; redirect to `next`."},
        400: {"description": "A malformed form: the form again, with the error."},
        401: {"description": "Wrong credentials: the form again, with the error."},
        403: {"description": "Sent from another site: the form again, with the error."},
        415: {"description": "Not an urlencoded form: the form again, with the error."},
    },
)
async def login_page_submit(
    request: Request, db: DB, settings: AppSettings, form: SharedForm
) -> Response:
    """Submit the login page

    Form post from /login (`application/x-www-form-urlencoded`, each field once): sets the session
    cookie and redirects (303) to `next`. Only from this server's own pages or from clients that are
    no browser.
    """
    target = _target(form)
    if is_cross_site(request, settings, allow_cors=False):
        return login_form(request, target, CROSS_SITE_LOGIN, status=403)
    if form.problem is not None:
        return login_form(request, target, form.problem.message, status=form.problem.status)
    try:
        fields = PageLoginFields.model_validate(form.values())
    except ValidationError as exc:
        return login_form(request, target, forms.describe(exc), status=400)
    try:
        issued, _ = await service.login_password(
            db,
            settings,
            fields.username,
            fields.password,
            **client_of(request.scope, settings),
        )
    except NotAuthenticated as exc:
        return login_form(request, target, exc.message, status=401)
    response = RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
    set_session_cookie(response, settings, issued)
    return response
