"""Oversized request targets (414) and headers (431), answered by the app in the API's
error shape before anything else runs (kit.request_limits)."""

from __future__ import annotations

import re
import re._constants as sre
import re._parser as sre_parse
import string
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from zenpro.authz.vocabulary import PROJECT_TYPES
from zenpro.kit.request_limits import MAX_HEADER_BYTES, MAX_TARGET_BYTES

ENCODED_CHAR = 12  # a 4-byte UTF-8 character, percent-encoded


def _assert_refused(r: httpx.Response, status: int) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    detail = r.json()["detail"]
    assert isinstance(detail, str)
    assert str(MAX_TARGET_BYTES if status == 414 else MAX_HEADER_BYTES) in detail
    assert r.headers["x-content-type-options"] == "nosniff"


def _target(path: str, size: int) -> str:
    """``path?q=aaa…`` of exactly ``size`` bytes."""
    return f"{path}?q=" + "a" * (size - len(path) - 3)


@pytest.mark.parametrize("path", ["/users/me", "/health"])
async def test_a_target_at_the_limit_passes_one_over_is_414(
    client: httpx.AsyncClient, alice_headers: dict[str, str], path: str
) -> None:
    ok = await client.get(_target(path, MAX_TARGET_BYTES), headers=alice_headers)
    assert ok.status_code == 200, ok.text
    _assert_refused(
        await client.get(_target(path, MAX_TARGET_BYTES + 1), headers=alice_headers), 414
    )


async def test_a_long_path_is_414_too(client: httpx.AsyncClient) -> None:
    _assert_refused(await client.get("/users/" + "x" * MAX_TARGET_BYTES), 414)


async def test_the_prefix_is_not_counted(
    client: httpx.AsyncClient, alice_headers: dict[str, str]
) -> None:
    r = await client.get("/api/v1" + _target("/users/me", MAX_TARGET_BYTES), headers=alice_headers)
    assert r.status_code == 200, r.text
    big = "/api/v1" + _target("/users/me", MAX_TARGET_BYTES + 1)
    _assert_refused(await client.get(big, headers=alice_headers), 414)


def _headers_of(client: httpx.AsyncClient, total: int, base: dict[str, str]) -> dict[str, str]:
    """``base`` plus an ``X-Pad`` header so that every name and value sums to ``total``,
    counting what the client adds itself (host, accept, user-agent…)."""
    probe = client.build_request("GET", "/users/me", headers={**base, "X-Pad": ""})
    used = sum(len(k) + len(v) for k, v in probe.headers.raw)
    return {**base, "X-Pad": "a" * (total - used)}


async def test_headers_at_the_limit_pass_one_byte_over_is_431(
    client: httpx.AsyncClient, alice_headers: dict[str, str]
) -> None:
    ok = await client.get("/users/me", headers=_headers_of(client, MAX_HEADER_BYTES, alice_headers))
    assert ok.status_code == 200, ok.text
    over = _headers_of(client, MAX_HEADER_BYTES + 1, alice_headers)
    _assert_refused(await client.get("/users/me", headers=over), 431)


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Big": "a" * 1024 * 1024},  # one 1 MB header
        {f"X-H{i}": "a" * 100 for i in range(200)},  # many small ones
        {"Cookie": "zenpro_session=" + "a" * 20_000},
        {"Authorization": "Bearer " + "a" * 20_000},
    ],
    ids=["one-1mb-header", "many-headers", "huge-cookie", "huge-bearer"],
)
async def test_oversized_headers_are_431_before_anything_runs(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    served = app.state.fastlane_served
    for path in ("/users/me", "/api/v1/users/me", "/auth/login", "/health"):
        _assert_refused(await client.get(path, headers=headers), 431)
    _assert_refused(await client.post("/auth/login", headers=headers, data={"x": "y"}), 431)
    assert app.state.fastlane_served == served


def test_the_limits_are_documented_on_every_operation(app: FastAPI) -> None:
    doc = app.openapi()
    ops = [op for item in doc["paths"].values() for op in item.values() if "responses" in op]
    assert len(ops) > 80
    for op in ops:
        assert {"414", "431"} <= set(op["responses"]), op.get("operationId")
    assert str(MAX_TARGET_BYTES) in doc["info"]["description"]
    assert str(MAX_HEADER_BYTES) in doc["info"]["description"]


# The longest request target each operation's schema admits. A client percent-encodes
# every character but the unreserved ones (RFC 3986 §2.3), byte by byte in UTF-8.
UNRESERVED = set(string.ascii_letters + string.digits + "-._~")


def _sent(char: str) -> int:
    return 1 if char in UNRESERVED else 3 * len(char.encode("utf-8", "surrogatepass"))


def _chars(op: Any, arg: Any) -> Iterator[str]:
    low, high = (arg, arg) if op is sre.LITERAL else arg
    return map(chr, range(low, high + 1))


def _regex_bound(node: Any) -> float:
    """The most bytes a match of a parsed regular expression takes, percent-encoded."""
    total = 0.0
    for op, arg in node:
        if op is sre.LITERAL:
            total += _sent(chr(arg))
        elif op is sre.IN:
            negated = any(o in (sre.NEGATE, sre.CATEGORY) for o, _ in arg)
            total += (
                ENCODED_CHAR if negated else max(_sent(c) for o, a in arg for c in _chars(o, a))
            )
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            _, most, sub = arg
            total += float("inf") if most == sre.MAXREPEAT else most * _regex_bound(sub)
        elif op is sre.SUBPATTERN:
            total += _regex_bound(arg[-1])
        elif op is sre.BRANCH:
            total += max(_regex_bound(b) for b in arg[1])
        elif op is sre.ANY:
            total += ENCODED_CHAR
        else:
            assert op is sre.AT, f"regex node {op} not handled"
    return total


def _worst(doc: dict[str, Any], schema: dict[str, Any]) -> float:
    """The longest percent-encoded value a schema admits (inf: unbounded)."""
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if "anyOf" in schema or "oneOf" in schema:
        return max(_worst(doc, s) for s in schema.get("anyOf", schema.get("oneOf", [])))
    if "enum" in schema:
        return max(sum(map(_sent, str(v))) for v in schema["enum"])
    kind = schema.get("type")
    if kind in ("integer", "number", "boolean"):
        return 32
    assert kind == "string", schema
    if schema.get("format") == "uuid":
        return 36
    bound = schema.get("maxLength", float("inf")) * ENCODED_CHAR
    if "pattern" in schema:
        bound = min(bound, _regex_bound(sre_parse.parse(schema["pattern"])))
    return bound


def target_bound(doc: dict[str, Any], path: str, op: dict[str, Any]) -> float:
    """The longest ``path?query`` an operation's schema admits (each item of a list
    repeats ``name=``)."""
    total = float(len(re.sub(r"\{[^}]+\}", "", path)) + 1)  # the literal path, and "?"
    for param in op.get("parameters", []):
        schema = param["schema"]
        if param["in"] == "path":
            total += _worst(doc, schema)
        elif param["in"] == "query":
            items, count = schema, 1.0
            if schema.get("type") == "array":
                items, count = schema["items"], schema.get("maxItems", float("inf"))
            each = sum(map(_sent, param["name"])) + 2  # name=…&
            total += count * (each + _worst(doc, items))
    return total


def test_every_request_the_schema_admits_fits_the_limit(app: FastAPI) -> None:
    """The limit refuses nothing an operation's schema allows: every string, list and path
    parameter is bounded, and the longest target of every operation fits (issue 13)."""
    doc = app.openapi()
    too_long = {
        f"{method.upper()} {path}": bound
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if (bound := target_bound(doc, path, op)) > MAX_TARGET_BYTES
    }
    assert not too_long, too_long


def test_the_bound_is_tight_for_the_longest_list(app: FastAPI) -> None:
    """``DELETE /rbac/resources`` at its most: as many resource strings as its schema
    admits, each the longest, as httpx sends them; it fits, and the bound covers it."""
    doc = app.openapi()
    op = doc["paths"]["/rbac/resources"]["delete"]
    longest = f"{uuid.uuid4()}:{max(PROJECT_TYPES, key=len)}/{uuid.uuid4()}"
    count = op["parameters"][0]["schema"]["maxItems"]
    url = httpx.URL("/rbac/resources", params=[("resources", longest)] * count)
    sent = len(url.raw_path)
    assert sent <= target_bound(doc, "/rbac/resources", op) <= MAX_TARGET_BYTES
    assert sent > MAX_TARGET_BYTES * 3 // 4  # the list bound leaves no great waste either
