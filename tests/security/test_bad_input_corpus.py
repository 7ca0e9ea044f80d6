"""Bad-input corpus over every operation (issue 8): a clear 4xx, never a 500.

Generated from the app's OpenAPI (the route table with its parameters and bodies); it
extends tests/test_bad_input.py, which pins exact answers on a few routes. Each
operation is called as a superuser (a fresh session each, so a logout does not end the
sweep) to get past authentication into validation and the handlers.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.factories import bearer, token_for
from zenpro.models import User

HOSTILE = [
    "x" * 5000,
    "a\x00b",
    "'; DROP TABLE users; --",
    "' OR '1'='1",
    "../../../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "not-a-uuid",
    "00000000-0000-0000-0000-00000000000g",
    "-1",
    "1e400",
    "é" * 300,
    "\u202e\u0000\ufeff",
    "😀" * 100,
    "\ud800",
    "%s%s%s%n",
    "${jndi:ldap://x}",
    "<script>alert(1)</script>",
]
# Values that are malformed everywhere a text field takes them: a 4xx, never 2xx.
NEVER_STORED = {"a\x00b", "\ud800", "\u202e\u0000\ufeff"}
WRONG_BODIES = [b"[]", b'"text"', b"123", b"null", b"{", b'{"a": }', b"\xff\xfe\x00", b"[" * 10_000]


def operations(app: FastAPI) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in app.openapi()["paths"].items():
        for method, op in item.items():
            yield method.upper(), path, op


def _url(path: str, value: str = "00000000-0000-4000-8000-00000000abcd") -> str:
    return re.sub(r"\{\w+\}", quote(value.encode("utf-8", "surrogatepass"), safe=""), path)


def _takes_json(op: dict[str, Any]) -> bool:
    return "application/json" in op.get("requestBody", {}).get("content", {})


def _needs_json(op: dict[str, Any]) -> bool:
    return _takes_json(op) and bool(op["requestBody"].get("required"))


def _body_fields(app: FastAPI, op: dict[str, Any]) -> list[str]:
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    ref = schema.get("$ref") or next(
        (s["$ref"] for s in schema.get("anyOf", []) if "$ref" in s), None
    )
    if ref is None:
        return []
    model = app.openapi()["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return list(model.get("properties", {}))


@pytest.fixture
async def superuser(db: AsyncSession, admin: User) -> Any:
    async def headers() -> dict[str, str]:
        return bearer(await token_for(db, admin))

    return headers


Selected = tuple[str, str, dict[str, Any], dict[str, str]]


async def _selected(
    app: FastAPI,
    superuser: Any,
    keep: Callable[[str, str, dict[str, Any]], bool],
    content_type: str | None = None,
) -> AsyncIterator[Selected]:
    """Each operation ``keep`` selects, with the headers of a fresh superuser session (and
    ``content_type`` when given): method, path, operation, headers."""
    for method, path, op in operations(app):
        if keep(method, path, op):
            h = await superuser()
            yield method, path, op, {**h, "Content-Type": content_type} if content_type else h


def _query_names(op: dict[str, Any]) -> list[str]:
    return [p["name"] for p in op.get("parameters", []) if p["in"] == "query"]


def _clear_4xx(r: httpx.Response, what: str) -> None:
    assert 400 <= r.status_code < 500, f"{what}: {r.status_code} {r.text[:300]}"
    if r.status_code != 405:
        assert r.headers["content-type"].startswith(("application/json", "text/html")), what
        assert r.content, what


async def test_hostile_path_parameters(
    app: FastAPI, client: httpx.AsyncClient, superuser: Any
) -> None:
    seen = 0
    async for method, path, _, h in _selected(app, superuser, lambda _m, p, _o: "{" in p):
        for value in HOSTILE:
            r = await client.request(method, _url(path, value), headers=h)
            _clear_4xx(r, f"{method} {path} with {value[:20]!r}")
            seen += 1
    assert seen > 500


async def test_hostile_query_values_never_500(
    app: FastAPI, client: httpx.AsyncClient, superuser: Any
) -> None:
    seen = 0
    async for method, path, op, h in _selected(
        app, superuser, lambda _m, _p, o: bool(_query_names(o))
    ):
        seen += 1
        for value in HOSTILE:
            raw = quote(value.encode("utf-8", "surrogatepass"), safe="")
            query = "&".join(f"{n}={raw}" for n in _query_names(op))
            r = await client.request(method, f"{_url(path)}?{query}", headers=h)
            what = f"{method} {path}?… {value[:20]!r}"
            assert r.status_code < 500, f"{what}: {r.status_code} {r.text[:300]}"
            if value in NEVER_STORED and method != "GET":
                _clear_4xx(r, what)
    assert seen > 20, f"only {seen} operations with query parameters"


@pytest.mark.parametrize(
    "query",
    [
        "offset=-1",
        "limit=0",
        "limit=1001",
        "limit=99999999999999999999999",
        "offset=99999999999999999999999",
        "offset=1e3",
        "limit=ten",
    ],
)
async def test_bad_paging_on_every_list(
    app: FastAPI, client: httpx.AsyncClient, superuser: Any, query: str
) -> None:
    lists = [
        (m, p)
        for m, p, op in operations(app)
        if m == "GET" and {"offset", "limit"} <= {q["name"] for q in op.get("parameters", [])}
    ]
    assert len(lists) >= 10
    h = await superuser()
    for method, path in lists:
        r = await client.request(method, f"{_url(path)}?{query}", headers=h)
        # A list under an object id first looks the object up (404 for the made-up id).
        want = {422} if "{" not in path else {404, 422}
        assert r.status_code in want, f"{path}?{query}: {r.status_code} {r.text[:200]}"


async def test_duplicate_query_parameters_never_500(
    app: FastAPI, client: httpx.AsyncClient, superuser: Any
) -> None:
    h = await superuser()
    seen = 0
    for method, path, op in operations(app):
        names = _query_names(op)
        if method != "GET" or not names:
            continue
        query = "&".join(f"{n}=1&{n}=x&{n}=" for n in names)
        r = await client.get(f"{_url(path)}?{query}", headers=h)
        assert r.status_code < 500, f"{path}: {r.status_code} {r.text[:200]}"
        seen += 1
    assert seen > 15, f"only {seen} GET operations with query parameters"


async def test_malformed_json_bodies_are_4xx(
    app: FastAPI, client: httpx.AsyncClient, superuser: Any
) -> None:
    seen = 0
    json_ops = _selected(app, superuser, lambda _m, _p, o: _takes_json(o), "application/json")
    async for method, path, op, h in json_ops:
        for body in WRONG_BODIES:
            if body == b"null" and not op["requestBody"].get("required"):
                continue  # an optional body may be absent: null is "no body"
            r = await client.request(method, _url(path), content=body, headers=h)
            _clear_4xx(r, f"{method} {path} body {body[:12]!r}")
            seen += 1
    assert seen > 100


async def test_hostile_text_in_every_body_field(
    app: FastAPI, client: httpx.AsyncClient, superuser: Any
) -> None:
    with_fields = 0
    json_ops = _selected(app, superuser, lambda _m, _p, o: _takes_json(o), "application/json")
    async for method, path, op, h in json_ops:
        fields = _body_fields(app, op)
        with_fields += bool(fields)
        for value in HOSTILE:
            body = json.dumps({f: value for f in fields}).encode()
            r = await client.request(method, _url(path), content=body, headers=h)
            what = f"{method} {path} fields={fields} {value[:20]!r}"
            assert r.status_code < 500, f"{what}: {r.status_code} {r.text[:300]}"
            if value in NEVER_STORED and fields:
                _clear_4xx(r, what)
    assert with_fields > 20, f"only {with_fields} bodies with text fields were found"


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/xml",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-9",
    ],
)
async def test_wrong_content_types_are_4xx(
    app: FastAPI, client: httpx.AsyncClient, superuser: Any, content_type: str
) -> None:
    seen = 0
    required = _selected(app, superuser, lambda _m, _p, o: _needs_json(o), content_type)
    async for method, path, _, h in required:
        r = await client.request(method, _url(path), content=b"<a>1</a>", headers=h)
        _clear_4xx(r, f"{method} {path} as {content_type}")
        seen += 1
    assert seen > 20, f"only {seen} operations with a required JSON body"


async def test_form_endpoints_refuse_json_and_garbage(client: httpx.AsyncClient) -> None:
    for path in ("/auth/login", "/auth/device_authorization", "/login"):
        for body, ctype in (
            (b'{"username": "a"}', "application/json"),
            (b"\xff\xfe=\x00", "application/x-www-form-urlencoded"),
            (b"client_id=not-a-uuid&device_id=also-not", "application/x-www-form-urlencoded"),
        ):
            r = await client.post(path, content=body, headers={"Content-Type": ctype})
            assert 400 <= r.status_code < 500, f"{path} {body!r}: {r.status_code} {r.text[:200]}"


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer " + "x" * 60_000},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer ZENPROKEY_" + "A" * 500},
        {"Authorization": "Bearer ' OR 1=1 --"},
        {"Cookie": "zenpro_session=" + "y" * 60_000},
        {"X-Request-ID": "z" * 60_000},
        {"X-Forwarded-For": "1.2.3.4, " * 5000},
        {"Content-Length": "nope"},
    ],
    ids=lambda h: f"{next(iter(h))}-{len(next(iter(h.values())))}",
)
async def test_oversized_and_garbage_headers_are_4xx(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    for path in ("/users/me", "/organizations"):
        r = await client.get(path, headers=headers)
        assert 400 <= r.status_code < 500, f"{path} {headers!r:.60}: {r.status_code} {r.text[:200]}"
