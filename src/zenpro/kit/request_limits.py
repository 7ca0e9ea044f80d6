"""Bounds on the request line and headers, answered by the app in the API's error shape.

The HTTP server's own limits are far above these (see ``zenpro.cli`` and
docs/reliability.md), so a client that goes over them gets a JSON ``{"detail": ...}`` with
414 or 431 from here, not a bare 400 from the server. Pure ASGI, before everything but
the ``/api/v1`` prefix: a request refused here costs two length sums.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from zenpro.kit.asgi import send_json
from zenpro.kit.middleware import SECURITY_HEADERS

log = logging.getLogger("zenpro.access")

MAX_TARGET_BYTES = 32 * 1024
"""Request target: ``path?query`` as sent (percent-encoded), after any ``/api/v1`` prefix.

Above every bounded query an operation's schema admits (the largest: ``GET /login`` with a
2,048-character ``next`` of 4-byte characters, 24 KiB percent-encoded), so no request the
schema allows is refused for size; below uvicorn's own limit (64 KiB), so the app answers."""
MAX_HEADER_BYTES = 16 * 1024
"""All request headers together: the sum of every name and value."""


class RequestLimitsMiddleware:
    """414 for a request target over ``max_target``; 431 for headers over ``max_headers``."""

    def __init__(
        self,
        app: ASGIApp,
        max_target: int = MAX_TARGET_BYTES,
        max_headers: int = MAX_HEADER_BYTES,
    ) -> None:
        self.app = app
        self.max_target = max_target
        self.max_headers = max_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self._refusal(scope)
            if refusal is not None:
                log.info("%s <refused> %s", scope["method"], refusal[0])
                await _respond(send, *refusal)
                return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope) -> tuple[int, str] | None:
        raw = scope.get("raw_path")
        if isinstance(raw, bytes):
            end = raw.find(b"?")  # some clients' raw_path carries the query too (httpx)
            path_bytes = len(raw) if end < 0 else end
        else:
            path_bytes = len(scope["path"].encode("utf-8", "surrogateescape"))
        query = len(scope.get("query_string", b""))
        if path_bytes + (query + 1 if query else 0) > self.max_target:  # path?query
            return 414, (
                f"Request URI too long: path and query string may have {self.max_target} "
                "bytes at most; send long values in a request body"
            )
        size = 0
        for name, value in scope["headers"]:
            size += len(name) + len(value)
        if size > self.max_headers:
            return 431, (
                f"Request headers too large: {size} bytes, the limit is {self.max_headers} "
                "(names and values together)"
            )
        return None


async def _respond(send: Send, status: int, detail: str) -> None:
    headers = [(b"connection", b"close"), *SECURITY_HEADERS]
    await send_json(send, status, {"detail": detail}, headers)
