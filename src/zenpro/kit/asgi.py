"""ASGI plumbing for the pure-ASGI middleware: headers, the Bearer token, body replay, JSON.

The middleware that decide before FastAPI runs (request context, body cap, rate limit,
login forms, fast lane) read the request and answer through these few functions, so they
all read the *same* copy of a header the endpoints read (Starlette's first one), and answer
alike. Domain-free: nothing here knows a route or a credential format.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import NamedTuple

from starlette.types import ASGIApp, Message, Receive, Scope, Send

Header = tuple[bytes, bytes]


def header(scope: Scope, name: bytes) -> str | None:
    """The first header called ``name`` (lower-case bytes), as Starlette's ``Headers.get``
    reads it (latin-1); None when absent."""
    for key, value in scope.get("headers", ()):
        if key == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


def bearer(scope: Scope) -> str | None:
    """The Bearer token of the request, exactly as the endpoints read it (FastAPI's
    ``HTTPBearer``): the *first* ``Authorization`` header, scheme case-insensitive, token
    stripped; None for any other scheme or an empty token.

    Every middleware that acts on the caller's credential (rate limit, fast lane) reads it
    here: reading another copy than the endpoint does would let a request be counted, or
    answered, as one credential and served as another.
    """
    for key, value in scope["headers"]:
        if key == b"authorization":  # as header(), inlined: this runs on every request
            scheme, _, token = value.decode("latin-1").partition(" ")
            token = token.strip()
            return token if token and scheme.lower() == "bearer" else None
    return None


class Buffered(NamedTuple):
    """A request body read ahead of the application."""

    body: bytes
    complete: bool  # False: the client went away before the last chunk
    receive: Receive  # replays every message read, then reads on


async def buffer_body(receive: Receive) -> Buffered:
    """Read the whole body (callers sit inside the body-size cap); the returned ``receive``
    hands the application the very messages read, then the real ones."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    complete = False
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            complete = True
            break
    return Buffered(b"".join(chunks), complete, replaying(messages, receive))


def replaying(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that first returns ``messages``, then the real ones."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


async def send_json_bytes(
    send: Send, status: int, body: bytes, headers: Iterable[Header] = ()
) -> None:
    """Answer with an already serialized JSON ``body`` (and any extra ``headers``)."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def send_json(
    send: Send, status: int, payload: object, headers: Iterable[Header] = ()
) -> None:
    """Answer with ``payload`` as JSON: the middleware's own answers (413, 429, …)."""
    await send_json_bytes(send, status, json.dumps(payload).encode(), headers)


class HTTPMiddleware:
    """A pure ASGI middleware for HTTP requests: other scopes (lifespan) pass straight to
    the app; a subclass implements :meth:`http`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError
