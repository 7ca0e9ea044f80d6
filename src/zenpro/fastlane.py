"""A fast lane for the three requests every workspace server makes all the time.

``POST /rbac/check_permissions``, ``GET /rbac/allowed_resource_ids`` and ``GET /users/me``
are answered here, before FastAPI's routing and dependency injection (measured at about
0.3 ms a request on the benchmark machine, several times the work itself), **only** when
everything they need is already in the epoch-validated caches: the credential, the grants,
the shares, the serialized user. Anything else — a miss, a malformed parameter, a cookie,
a credential of the wrong kind, a ``last_used`` write that is due — falls through to the
normal route, which gives the same answers and every error response. The answers come
from the same functions the routes use (``rbac.service.answer_*``, the checker).
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zenpro.auth.principal import MachinePrincipal, UserPrincipal
from zenpro.auth.service import cached_principal
from zenpro.authz import resources as res
from zenpro.authz.checker import Grants
from zenpro.kit.cache import AUTH, GRANTS, EpochCache
from zenpro.rbac import service as rbac

Answer = bytes | None
JSON_HEADERS = [(b"content-type", b"application/json")]
MAX_BODY = 256 * 1024


class FastLane:
    def __init__(self, app: ASGIApp, state: Any) -> None:
        self.app = app
        self.state = state  # the FastAPI app's state: its cache, and a served counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = _ROUTES.get((scope.get("method", ""), scope.get("path", "")))
        cache: EpochCache | None = getattr(self.state, "cache", None) if route else None
        if route is None or cache is None or not await cache.fresh():
            # fresh(), as kit.cache.snapshot: never answer from a stale epoch
            await self.app(scope, receive, send)
            return
        body: bytes | None = b""
        replay = receive
        if scope["method"] == "POST":
            body, replay = await _read_body(receive)
        answer = _answer(route, cache, scope, body) if body is not None else None
        if answer is None:
            await self.app(scope, replay, send)
            return
        self.state.fastlane_served += 1
        scope.setdefault("state", {})["route_template"] = scope["path"]
        headers = [*JSON_HEADERS, (b"content-length", str(len(answer)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})


async def _read_body(receive: Receive) -> tuple[bytes | None, Receive]:
    """Read a small body and hand the app a receive that replays it."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None, receive
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return (body if size <= MAX_BODY else None), replay


def _bearer(scope: Scope) -> str | None:
    for key, value in scope["headers"]:
        if key == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


def _query(scope: Scope) -> dict[str, str] | None:
    try:
        pairs = parse_qsl(scope.get("query_string", b"").decode(), strict_parsing=False)
    except UnicodeDecodeError:
        return None
    out = dict(pairs)
    return out if len(out) == len(pairs) else None  # repeated keys: let FastAPI decide


def _answer(route: str, cache: EpochCache, scope: Scope, body: bytes) -> Answer:
    token = _bearer(scope)
    principal = cached_principal(cache, token) if token else None
    if principal is None:
        return None
    if route == "me":
        if not isinstance(principal, UserPrincipal):
            return None
        me: bytes | None = cache.get(AUTH, ("me", principal.user_id))
        return me
    if not isinstance(principal, MachinePrincipal):
        return None
    params = _query(scope)
    if params is None:
        return None
    try:
        user_id = uuid.UUID(params["user_id"])
        action = res.check_action(params["action"])
        if route == "check":
            return _check(cache, principal, user_id, action, body)
        return _allowed(cache, principal, user_id, action, params["resource"])
    except (KeyError, ValueError, TypeError):
        return None  # the full route answers with the right 4xx


def _grants(cache: EpochCache, user_id: uuid.UUID) -> Grants | None:
    grants: Grants | None = cache.get(GRANTS, ("user-grants", user_id))
    return grants


def _shares(cache: EpochCache, ws: uuid.UUID, user_id: uuid.UUID) -> rbac.ShareSet | None:
    shares: rbac.ShareSet | None = cache.get(GRANTS, ("shares", ws, user_id))
    return shares


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


def _check(
    cache: EpochCache, machine: MachinePrincipal, user_id: uuid.UUID, action: str, body: bytes
) -> Answer:
    resources = _flat_json(body)
    if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
        return None
    if len(resources) > 1000:
        return None
    parsed = [res.parse(r) for r in resources]
    grants = _grants(cache, user_id)
    shared: rbac.ShareSet | None = frozenset()
    if grants is not None and rbac.needs_shares(parsed, grants):
        shared = _shares(cache, machine.workspace_id, user_id)
    if grants is None or shared is None:
        return None
    answer = rbac.answer_check(grants, shared, machine.workspace_id, resources, parsed, action)
    return json.dumps(answer, separators=(",", ":")).encode()


def _allowed(
    cache: EpochCache, machine: MachinePrincipal, user_id: uuid.UUID, action: str, resource: str
) -> Answer:
    target = res.parse(resource, allow_id=False)
    grants = _grants(cache, user_id)
    if grants is None:
        return None
    shared: rbac.ShareSet | None = frozenset()
    if not grants.covers(machine.workspace_id, target, action):
        shared = _shares(cache, machine.workspace_id, user_id)
    if shared is None:
        return None
    answer = rbac.answer_allowed_ids(grants, shared, machine.workspace_id, target, action)
    return answer.model_dump_json().encode()


_ROUTES = {
    ("POST", "/rbac/check_permissions"): "check",
    ("GET", "/rbac/allowed_resource_ids"): "allowed",
    ("GET", "/users/me"): "me",
}
