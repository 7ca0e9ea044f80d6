"""Oversized request targets (414) and headers (431), answered by the app in the API's
error shape before anything else runs (kit.request_limits)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from zenpro.kit.request_limits import MAX_HEADER_BYTES, MAX_TARGET_BYTES

ENCODED_CHAR = 12  # a 4-byte UTF-8 character, percent-encoded
PATH_ROOM = 1024  # what the path itself may take of the target


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


def _worst(schema: dict[str, Any]) -> int | None:
    """The longest percent-encoded value a schema admits; None: unbounded."""
    if "anyOf" in schema:
        sizes = [_worst(s) for s in schema["anyOf"] if s.get("type") != "null"]
        return None if None in sizes else max(s for s in sizes if s is not None)
    kind = schema.get("type")
    if "enum" in schema:
        return max(len(str(v)) for v in schema["enum"]) * 3
    if kind == "string":
        if schema.get("format") in ("uuid", "date-time"):
            return 64 * 3
        n = schema.get("maxLength")
        return None if n is None else n * ENCODED_CHAR
    if kind in ("integer", "number", "boolean"):
        return 32
    return None


def _longest(param: dict[str, Any]) -> int | None:
    """The longest ``name=value&`` text one query parameter can add (each item of a list
    repeats the name)."""
    schema, each = param["schema"], len(param["name"]) + 2
    arrays = [s for s in [schema, *schema.get("anyOf", [])] if s.get("type") == "array"]
    if arrays:
        n, item = arrays[0].get("maxItems"), _worst(arrays[0].get("items", {}))
        return None if n is None or item is None else n * (each + item)
    value = _worst(schema)
    return None if value is None else each + value


def test_no_bounded_query_the_schema_admits_is_over_the_limit(app: FastAPI) -> None:
    """The limit refuses nothing an operation's schema allows: the longest query string of
    every operation whose query parameters are all bounded fits, with room for the path."""
    checked = 0
    for path, item in app.openapi()["paths"].items():
        for method, op in item.items():
            sizes = [_longest(p) for p in op.get("parameters", []) if p["in"] == "query"]
            if not sizes or None in sizes:
                continue  # unbounded: only the documented 414 applies
            longest = sum(s for s in sizes if s is not None)
            assert longest <= MAX_TARGET_BYTES - PATH_ROOM, (method, path, longest)
            checked += 1
    assert checked > 20
