"""API documentation pages served with local assets (no CDN: works offline and under CSP)."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from zenpro import routing
from zenpro.authz.guards import Public
from zenpro.kit.prefix import API_PREFIX
from zenpro.kit.request_limits import MAX_HEADER_BYTES, MAX_TARGET_BYTES
from zenpro.kit.schemas import TEXT_RULE

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/docs-assets"
router = routing.router(dependencies=[Public], include_in_schema=False)
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def _with_csp(page: HTMLResponse) -> HTMLResponse:
    """A CSP that allows only this server's assets and the page's own inline script (by
    hash). Swagger UI and ReDoc set inline styles; ReDoc runs a worker from a blob."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(m).digest()).decode() + "'"
        for m in _INLINE_SCRIPT.findall(page.body)
    )
    page.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
        "worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
    return page


def _page(app: FastAPI, kind: str, script: str) -> dict[str, Any]:
    """What both pages are given: the document, a title, local script and favicon."""
    return {
        "openapi_url": app.openapi_url or "/openapi.json",
        "title": f"{app.title} - API",
        f"{kind}_js_url": f"{ASSETS_URL}/{script}",
        f"{kind}_favicon_url": f"{ASSETS_URL}/favicon.png",
    }


@router.get("/docs", summary="Swagger UI")
async def docs_swagger(request: Request) -> HTMLResponse:
    app: FastAPI = request.app
    page = get_swagger_ui_html(
        **_page(app, "swagger", "swagger-ui-bundle.js"),
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
        swagger_ui_parameters=app.swagger_ui_parameters,
    )
    return _with_csp(page)


@router.get("/redoc", summary="ReDoc")
async def docs_redoc(request: Request) -> HTMLResponse:
    page = get_redoc_html(
        **_page(request.app, "redoc", "redoc.standalone.js"), with_google_fonts=False
    )
    return _with_csp(page)


BAD_BODY = {
    "description": "The body cannot be parsed (not UTF-8, not form data) or is malformed.",
    "content": {"application/json": {"example": {"detail": "There was an error parsing the body"}}},
}


def _limit_response(description: str) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    }
    return {"description": description, "content": {"application/json": {"schema": schema}}}


# Any operation can meet the request size limits (kit.request_limits), whatever its schema.
LIMIT_RESPONSES = {
    "RequestURITooLong": (
        "414",
        _limit_response(f"The path and query string together are over {MAX_TARGET_BYTES} bytes."),
    ),
    "RequestHeadersTooLarge": (
        "431",
        _limit_response(f"The request headers together are over {MAX_HEADER_BYTES} bytes."),
    ),
}


# `POST /auth/login` is an OAuth2 token endpoint (RFC 6749): saying so tells clients where
# tokens come from, and that its 400s (`invalid_grant`, …) refuse credentials, not the
# form of the request. The tokens it issues are the Bearer tokens of `HTTPBearer`.
OAUTH2 = {
    "type": "oauth2",
    "description": "Tokens from `POST /auth/login`, sent as `Authorization: Bearer`.",
    "flows": {
        "password": {"tokenUrl": "/auth/login", "scopes": {}},
        "clientCredentials": {"tokenUrl": "/auth/login", "scopes": {}},
    },
}


DESCRIPTION = f"""
zenpro is an open, self-hosted server for the **ZenML Pro management API**: organizations,
workspaces (formerly *tenants*), users, teams, invitations, roles and permission checks.

**Base URL.** Every path below is served at the root and, identically, under
`{API_PREFIX}`, the base URL self-hosted ZenML Pro documents (`https://<host>{API_PREFIX}`):
`{API_PREFIX}/users/me` is `/users/me`, with the same sessions, rate-limit budgets, caches and
answers. `{API_PREFIX}` is an alias of every path; this document lists each path once, at the
root.

**Authentication.** Every endpoint takes `Authorization: Bearer <token>` (a session token, an
API token, a `ZENPROKEY_` key or a workspace machine token). In a browser, sign in at
[/login](/login): the session cookie then authenticates "Try it out" on this page.

**Errors** are JSON: `{{"detail": [ExceptionName, message], "code": …}}` (the shape the ZenML
client decodes); 422 is FastAPI's validation list. Lists are bare JSON arrays paged with
`offset`/`limit`; `Link: rel="next"` carries a `cursor` for the next page (a keyset position:
deep pages cost what the first does); `X-Total-Count` is exact up to 1,000 items and absent
above.

**Text** values (body, query, path, header, form): {TEXT_RULE} Each string's schema says
so (a pattern, a format or an enum); rules across parameters that OpenAPI cannot state are
in the operation's description.

**Limits.** A request target (path and query string) over {MAX_TARGET_BYTES} bytes is refused
with 414, request headers over {MAX_HEADER_BYTES} bytes (names and values together) with 431,
a body over the configured cap with 413; a method a path does not support with 405 and an
`Allow` header listing every method it does.
"""


def _not_null(schema: dict[str, Any]) -> None:
    """A parameter is absent or a string on the wire, never null: FastAPI publishes an
    optional ``X | None`` parameter as ``anyOf: [X, null]``; keep ``X``."""
    branches = schema.get("anyOf", [])
    if {"type": "null"} in branches:
        rest = [b for b in branches if b != {"type": "null"}]
        del schema["anyOf"]
        schema.update(rest[0] if len(rest) == 1 else {"anyOf": rest})


def _document_errors(app: FastAPI) -> None:
    """Errors FastAPI's generator cannot know of: every operation that takes a body can
    answer 400 (FastAPI itself refuses a body it cannot decode, e.g. invalid UTF-8, before
    any handler runs), and every operation 414 and 431 (the request size limits). Also the
    token endpoint, as the OAuth2 security scheme (``OAUTH2``), and no null parameters."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
            schemes["OAuth2"] = OAUTH2
            components = schema["components"].setdefault("responses", {})
            for name, (_, response) in LIMIT_RESPONSES.items():
                components[name] = response
            for item in schema.get("paths", {}).values():
                for op in item.values():
                    if not isinstance(op, dict) or "responses" not in op:
                        continue
                    for param in op.get("parameters", []):
                        _not_null(param["schema"])
                    if "requestBody" in op:
                        op["responses"].setdefault("400", BAD_BODY)
                    for name, (status, _) in LIMIT_RESPONSES.items():
                        op["responses"].setdefault(
                            status, {"$ref": f"#/components/responses/{name}"}
                        )
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    """The assets of the pages (``router`` is in ``zenpro.routes``) and the document's
    additions."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")
    _document_errors(app)
