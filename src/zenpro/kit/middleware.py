"""Pure ASGI middleware: request id + access log + security headers, and the body cap.

Pure ASGI rather than BaseHTTPMiddleware: cheaper on the hot path and no streaming quirks.
"""

from __future__ import annotations

import logging
import re
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zenpro.kit.asgi import HTTPMiddleware, header, send_json

log = logging.getLogger("zenpro.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
NO_STORE = [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]


def _route_template(scope: Scope) -> str:
    template = (scope.get("state") or {}).get("route_template")
    if template:
        return str(template)
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "<unmatched>"


class RequestContextMiddleware(HTTPMiddleware):
    """Echo or assign ``X-Request-ID``, add security headers, log one line per request."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        rid = header(scope, b"x-request-id") or ""
        if not _REQUEST_ID.match(rid):
            rid = secrets.token_hex(16)  # as random as uuid4().hex, without the UUID object
        scope.setdefault("state", {})["request_id"] = rid
        start = time.perf_counter()
        status = 500
        auth_answer = scope["path"].startswith("/auth/")

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                present = {k.lower() for k, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                if auth_answer and b"cache-control" not in present:
                    # Token endpoint answers, errors included, are never cached (RFC 6749 5.1).
                    headers.extend(NO_STORE)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if log.isEnabledFor(logging.INFO):
                self._log(scope, status, start, rid)

    @staticmethod
    def _log(scope: Scope, status: int, start: float, rid: str) -> None:
        log.info(
            "%s %s %s",
            scope["method"],
            _route_template(scope),
            status,
            extra={
                "duration_ms": round((time.perf_counter() - start) * 1000, 2),
                "request_id": rid,
            },
        )


class BodySizeLimitMiddleware(HTTPMiddleware):
    """Refuse bodies over the cap with 413, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        for key, value in scope["headers"]:
            if key == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    await self._reject(send, 400, "Content-Length is not a number")
                    return
                if too_big:
                    await self._reject(send, 413, self._message())
                    return
        received = 0
        started = False
        rejected = False

        async def limited_receive() -> Message:
            nonlocal received, rejected
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes and not started:
                    # Answer 413 now and tell the app the client is gone; whatever the
                    # app sends afterwards is dropped.
                    rejected = True
                    await self._reject(send, 413, self._message())
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if rejected:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, limited_receive, tracking_send)

    def _message(self) -> str:
        return f"Request body too large: the limit is {self.max_bytes} bytes"

    @staticmethod
    async def _reject(send: Send, status: int, detail: str) -> None:
        await send_json(send, status, {"detail": detail})
