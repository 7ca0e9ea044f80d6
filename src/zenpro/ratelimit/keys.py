"""Who and what a request counts against: route template, principal, login target.

Everything here is cheap and local: no database query runs before a request is counted.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import cookie_parser
from starlette.routing import BaseRoute, Match
from starlette.types import Message, Receive, Scope

from zenpro.auth.deps import COOKIE_NAME
from zenpro.auth.secrets import MACHINE_PREFIX

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


def credential(scope: Scope) -> tuple[str, bool] | None:
    """``(hash of the credential, is a workspace machine token)`` or None when anonymous.

    The Bearer token wins over the session cookie, as in ``auth.deps``. The credential is
    not verified here: a forged token only gets its own bucket (invalid ones are answered
    401 by the endpoint anyway).
    """
    token: str | None = None
    cookie_header: str | None = None
    for key, value in scope["headers"]:
        if key == b"authorization":
            scheme, _, rest = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and rest.strip():
                token = rest.strip()
        elif key == b"cookie":
            cookie_header = value.decode("latin-1")
    if token is None and cookie_header:
        token = cookie_parser(cookie_header).get(COOKIE_NAME) or None
    if token is None:
        return None
    return digest(token), token.startswith(MACHINE_PREFIX)


def is_form(scope: Scope) -> bool:
    for key, value in scope["headers"]:
        if key == b"content-type":
            media_type: bytes = value.split(b";", 1)[0].strip().lower()
            return media_type == b"application/x-www-form-urlencoded"
    return False


async def buffer_body(receive: Receive) -> tuple[bytes, list[Message]]:
    """Read the whole request body (already capped by the body-size middleware).

    Returns the body and the messages read, to be replayed to the application.
    """
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks), messages


def replaying(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that first returns the buffered messages, then the real ones."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def form_fields(body: bytes) -> dict[str, str]:
    """First value of each field of a urlencoded form; malformed input gives ``{}``."""
    try:
        parsed = parse_qs(body.decode("utf-8", "replace"), max_num_fields=64)
    except ValueError:
        return {}
    return {k: v[0] for k, v in parsed.items() if v}
