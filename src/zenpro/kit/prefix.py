"""Serve every path at the root and under a base path (``/api/v1``) as one application.

Two pure ASGI middlewares share the work:

- :class:`StripPrefix`, outermost, turns ``/api/v1/users/me`` into ``/users/me`` before any
  other middleware looks at the path. The request id, body cap, rate limiter (its route
  templates, hence its budgets), metrics and fast lane therefore see one path for both
  forms: one budget, one cache, one answer, at the cost of one string comparison.
- :class:`RestorePrefix`, innermost (just before routing), puts the path back and sets
  ``root_path`` to the prefix. That is the scope an ASGI server mounted at ``/api/v1``
  would produce (``path`` includes ``root_path``; Starlette routes on the part after it),
  so everything Starlette builds from the request stays in the client's form: the paging
  ``Link`` header (``request.url``), trailing-slash redirects, ``url_for``.

``/api/v10/...`` is not the prefix: only ``/api/v1`` followed by ``/`` or the end counts.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

API_PREFIX = "/api/v1"
# Where StripPrefix leaves what it took away, for RestorePrefix: (path, raw_path).
_ORIGINAL = "zenpro.prefix"


class StripPrefix:
    """Outermost: the rest of the stack sees ``/users/me`` for ``/api/v1/users/me``."""

    def __init__(self, app: ASGIApp, prefix: str = API_PREFIX) -> None:
        self.app = app
        self.prefix = prefix
        self._len = len(prefix)
        self._raw = prefix.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.startswith(self.prefix) and (len(path) == self._len or path[self._len] == "/"):
                self._strip(scope, path)
        await self.app(scope, receive, send)

    def _strip(self, scope: Scope, path: str) -> None:
        # In place, as the server's scope is this request's own: what the router records
        # in it (the matched route, for metrics and the access log) stays visible outside.
        raw = scope.get("raw_path")
        if len(path) == self._len:
            # The bare prefix is the root under it ("/api/v1" is "/api/v1/"): answered as the
            # root is, not redirected to the slash form.
            path, raw = path + "/", raw + b"/" if isinstance(raw, bytes) else raw
        scope[_ORIGINAL] = (path, raw)
        scope["path"] = path[self._len :] or "/"
        if isinstance(raw, bytes) and raw.startswith(self._raw):
            scope["raw_path"] = raw[self._len :] or b"/"


class RestorePrefix:
    """Innermost: the router and the endpoints get the client's path, with ``root_path``
    set to the prefix, so URLs built from the request keep it."""

    def __init__(self, app: ASGIApp, prefix: str = API_PREFIX) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        original = scope.get(_ORIGINAL)
        if original is not None:
            path, raw = original
            scope["path"] = path
            if raw is not None:
                scope["raw_path"] = raw
            scope["root_path"] = scope.get("root_path", "") + self.prefix
        await self.app(scope, receive, send)
