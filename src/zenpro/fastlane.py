"""A fast lane for the three requests every workspace server makes all the time.

``POST /rbac/check_permissions``, ``GET /rbac/allowed_resource_ids`` and ``GET /users/me``
are answered here, before FastAPI's routing and dependency injection (measured at about
0.3 ms a request on the benchmark machine, several times the work itself), **only** when
everything they need is already in the epoch-validated caches: the credential, the grants,
the shares, the serialized user.

There is no second copy of any rule here. The fast lane calls the functions the routes call
— ``auth.service.resolve``, the guards' ``user_only``/``machine_only``, ``rbac.service``,
``users.service.me_json`` — over a lookup that only peeks at the caches
(``kit.lookup.Peeking``). Anything else — a miss, a malformed parameter, a cookie, a
credential of the wrong kind, a ``last_used`` write that is due — falls through to the
normal route, which gives the same answers and every error response.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from zenpro.auth.deps import machine_only, user_only
from zenpro.auth.principal import Principal
from zenpro.auth.service import resolve
from zenpro.errors import ZenproError
from zenpro.kit import asgi
from zenpro.kit.cache import EpochCache
from zenpro.kit.lookup import Miss, Peeking
from zenpro.rbac import service as rbac
from zenpro.users.service import me_json

MAX_BODY = 256 * 1024
Handler = Callable[[Peeking, Principal, Scope, bytes], Awaitable[bytes | None]]


class FastLane:
    def __init__(self, app: ASGIApp, state: Any) -> None:
        self.app = app
        self.state = state  # the FastAPI app's state: its cache, and a served counter
        self._peek: Peeking | None = None

    def _peeking(self, cache: EpochCache) -> Peeking:
        if self._peek is None or self._peek.cache is not cache:
            self._peek = Peeking(cache)
        return self._peek

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = _ROUTES.get((scope.get("method", ""), scope.get("path", "")))
        cache: EpochCache | None = getattr(self.state, "cache", None) if handler else None
        if handler is None or cache is None or not await cache.fresh():
            # fresh(), as kit.cache.snapshot: never answer from a stale epoch
            await self.app(scope, receive, send)
            return
        body: bytes | None = b""
        if scope["method"] == "POST":
            buffered = await asgi.buffer_body(receive)
            receive = buffered.receive
            ok = buffered.complete and len(buffered.body) <= MAX_BODY
            body = buffered.body if ok else None
        look = self._peeking(cache)
        answer = await _answer(handler, look, scope, body) if body is not None else None
        if answer is None:
            await self.app(scope, receive, send)
            return
        self.state.fastlane_served += 1
        scope.setdefault("state", {})["route_template"] = scope["path"]
        await asgi.send_json_bytes(send, 200, answer)


async def _answer(handler: Handler, look: Peeking, scope: Scope, body: bytes) -> bytes | None:
    """The route's answer from the caches alone, or None: the route then answers.

    Only a Bearer token is taken: a session cookie needs the route's same-origin check."""
    token = asgi.bearer(scope)
    if token is None:
        return None
    try:
        return await handler(look, await resolve(look, token), scope, body)
    except (Miss, ZenproError, KeyError, ValueError, TypeError):
        return None  # not cached, or an error: the full route answers it (4xx)


def _me(look: Peeking, principal: Principal, scope: Scope, body: bytes) -> Awaitable[bytes]:
    return me_json(look, user_only(principal))


async def _check(look: Peeking, principal: Principal, scope: Scope, body: bytes) -> bytes | None:
    machine = machine_only(principal)
    params = _query(scope)
    resources = _flat_json(body)
    if params is None or not _strings(resources) or len(resources) > rbac.MAX_RESOURCES:
        return None
    user_id = uuid.UUID(params["user_id"])
    ws = machine.workspace_id
    answer = await rbac.check_permissions(look, ws, user_id, params["action"], resources)
    return json.dumps(answer, separators=(",", ":")).encode()


async def _allowed(look: Peeking, principal: Principal, scope: Scope, body: bytes) -> bytes | None:
    machine = machine_only(principal)
    params = _query(scope)
    if params is None:
        return None
    user_id = uuid.UUID(params["user_id"])
    ws = machine.workspace_id
    answer = await rbac.allowed_resource_ids(
        look, ws, user_id, params["resource"], params["action"]
    )
    return answer.model_dump_json().encode()


def _query(scope: Scope) -> dict[str, str] | None:
    try:
        pairs = parse_qsl(scope.get("query_string", b"").decode(), strict_parsing=False)
    except UnicodeDecodeError:
        return None
    out = dict(pairs)
    return out if len(out) == len(pairs) else None  # repeated keys: let FastAPI decide


def _flat_json(body: bytes) -> Any:
    """The body as JSON, or None for anything the normal route should answer (with a 4xx).

    ``json.loads`` recurses once per nesting level: a body of a few thousand ``[`` raises
    ``RecursionError``, not ``ValueError``. Escaping this middleware, it became a 500
    without the security headers and a reset connection (issue 12). The normal route
    meets the same body and answers 400. A valid body here is a flat list of strings, so
    a nested one is never worth parsing at all.
    """
    if body.count(b"[") > 1 or b"{" in body:
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(r, str) for r in value)


_ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "/rbac/check_permissions"): _check,
    ("GET", "/rbac/allowed_resource_ids"): _allowed,
    ("GET", "/users/me"): _me,
}
