"""The ASGI helpers every pure-ASGI middleware reads the request and answers through."""

from __future__ import annotations

import json

import pytest
from fastapi.security.utils import get_authorization_scheme_param
from starlette.types import Message, Scope

from zenpro.kit import asgi


def _scope(*headers: tuple[bytes, bytes]) -> Scope:
    return {"type": "http", "headers": list(headers)}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"Bearer abc", "abc"),
        (b"bearer abc", "abc"),
        (b"BEARER   abc  ", "abc"),
        (b"Bearer ", None),
        (b"Bearer", None),
        (b"Basic abc", None),
        (b"", None),
        (b"Bearer \xe9t\xe9", "\xe9t\xe9"),  # latin-1, as Starlette decodes headers
    ],
)
def test_bearer_reads_what_fastapi_reads(value: bytes, expected: str | None) -> None:
    assert asgi.bearer(_scope((b"authorization", value))) == expected
    # FastAPI's HTTPBearer (auth.deps) takes the same token from the same header.
    scheme, token = get_authorization_scheme_param(value.decode("latin-1"))
    fastapi = token if scheme.lower() == "bearer" and token else None
    assert fastapi == expected


def test_only_the_first_authorization_header_counts() -> None:
    scope = _scope((b"authorization", b"Basic x"), (b"authorization", b"Bearer later"))
    assert asgi.bearer(scope) is None  # Starlette's headers.get returns the first, too
    scope = _scope((b"authorization", b"Bearer first"), (b"authorization", b"Bearer later"))
    assert asgi.bearer(scope) == "first"
    assert asgi.bearer(_scope((b"cookie", b"a=b"))) is None


def test_header_is_the_first_copy() -> None:
    scope = _scope((b"x-a", b"1"), (b"content-type", b"text/plain"), (b"content-type", b"x/y"))
    assert asgi.header(scope, b"content-type") == "text/plain"
    assert asgi.header(scope, b"missing") is None


class Feed:
    def __init__(self, *messages: Message) -> None:
        self.messages = list(messages)
        self.reads = 0

    async def __call__(self) -> Message:
        self.reads += 1
        if self.messages:
            return self.messages.pop(0)
        return {"type": "http.disconnect"}


async def test_a_buffered_body_is_replayed_message_by_message() -> None:
    feed = Feed(
        {"type": "http.request", "body": b"ab", "more_body": True},
        {"type": "http.request", "body": b"cd", "more_body": False},
    )
    buffered = await asgi.buffer_body(feed)
    assert (buffered.body, buffered.complete) == (b"abcd", True)
    replayed = [await buffered.receive(), await buffered.receive()]
    assert [m["body"] for m in replayed] == [b"ab", b"cd"]
    assert feed.reads == 2
    assert (await buffered.receive())["type"] == "http.disconnect"  # then the real receive
    assert feed.reads == 3


async def test_a_body_cut_short_is_incomplete_and_replays_the_disconnect() -> None:
    feed = Feed({"type": "http.request", "body": b"ab", "more_body": True})
    buffered = await asgi.buffer_body(feed)
    assert (buffered.body, buffered.complete) == (b"ab", False)
    assert (await buffered.receive())["body"] == b"ab"
    assert (await buffered.receive())["type"] == "http.disconnect"


async def test_send_json_sets_type_length_and_extra_headers() -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await asgi.send_json(send, 429, {"detail": "slow down"}, [(b"retry-after", b"3")])
    start, body = sent
    assert start["status"] == 429
    assert start["headers"] == [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body["body"])).encode()),
        (b"retry-after", b"3"),
    ]
    assert json.loads(body["body"]) == {"detail": "slow down"}
