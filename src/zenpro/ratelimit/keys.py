"""Who and what a request counts against: route template, principal, login target.

Everything here is cheap and local: no database query runs before a request is counted.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, NamedTuple

from starlette.requests import cookie_parser
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from zenpro.auth.deps import COOKIE_NAME
from zenpro.auth.secrets import MACHINE_PREFIX
from zenpro.kit import asgi

UNMATCHED = "<unmatched>"


def flatten(routes: Sequence[BaseRoute]) -> list[Any]:
    """The routes in matching order, with included routers expanded to their effective routes.

    FastAPI ≥ 0.16x keeps ``include_router`` children behind lazy ``_IncludedRouter``
    entries; ``iter_route_contexts`` yields each effective route (path with any include
    prefix). Older FastAPI copies the routes into the app, so the list is already flat.
    """
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover - older FastAPI
        return list(routes)
    return list(iter_route_contexts(routes))


_TEMPLATES: OrderedDict[tuple[str, str, int], str] = OrderedDict()
_TEMPLATES_MAX = 4096


def route_template(routes: Sequence[Any], scope: Scope) -> str:
    """``_match_template``, remembered per (method, path): matching walks every route with
    its regex, which the hot endpoints (fixed paths) should not pay on every request."""
    key = (scope["method"], scope["path"], id(routes))
    found = _TEMPLATES.get(key)
    if found is None:
        found = _match_template(routes, scope)
        _TEMPLATES[key] = found
        if len(_TEMPLATES) > _TEMPLATES_MAX:
            _TEMPLATES.popitem(last=False)
    return found


def _match_template(routes: Sequence[Any], scope: Scope) -> str:
    """The path template of the route that will serve ``scope`` (``/users/{user_id}``).

    Matching here (instead of reading ``scope["route"]`` after routing) lets the limiter
    decide before any endpoint or dependency runs. A path that matches only with another
    method still gets its template, so a 405 probe counts against the same bucket.
    """
    partial: str | None = None
    for route in routes:
        match, _ = route.matches(scope)
        path = getattr(route, "path", None)
        if match is Match.FULL:
            return str(path) if path is not None else UNMATCHED
        if match is Match.PARTIAL and partial is None and path is not None:
            partial = str(path)
    return partial or UNMATCHED


def digest(value: str) -> str:
    """A short, fixed-size stand-in for a secret or a user-chosen name in a storage key."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class Presented(NamedTuple):
    """The credential a request carries, as the limiter sees it (not verified)."""

    digest: str  # the bucket key: a hash, never the secret itself
    machine: bool  # a workspace machine token (``zpm_``): the machine policy
    bearer: str | None  # the raw Bearer token (None for a session cookie)


def credential(scope: Scope) -> Presented | None:
    """The request's credential, or None when anonymous.

    As ``auth.deps`` (through Starlette) reads it: the Bearer of the first ``Authorization``
    header (``kit.asgi.bearer``) wins over the session cookie of the first ``Cookie`` header.
    Reading another copy than the endpoint does would let a request be counted against one
    credential and served with another. Nothing is verified here; the middleware decides
    whether the credential is known (see ``RateLimitMiddleware._known``).
    """
    bearer = asgi.bearer(scope)
    token = bearer
    if token is None:
        cookie_header = asgi.header(scope, b"cookie")
        token = (cookie_parser(cookie_header).get(COOKIE_NAME) or None) if cookie_header else None
    if token is None:
        return None
    return Presented(digest(token), token.startswith(MACHINE_PREFIX), bearer)
