"""Bad input gets a clear 4xx, never a 500, and changes nothing."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest

from tests.support.apps import other_app


async def test_malformed_json_is_422(
    client: httpx.AsyncClient, alice_headers: dict[str, str]
) -> None:
    r = await client.patch(
        "/users/me",
        content=b'{"name": ',
        headers={**alice_headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 422


@pytest.mark.parametrize("limit", ["100000", "0", "-1", "abc"])
async def test_bad_paging_is_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str], limit: str
) -> None:
    r = await client.get("/users", params={"limit": limit}, headers=admin_headers)
    assert r.status_code == 422


async def test_negative_offset_is_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    r = await client.get("/users", params={"offset": "-5"}, headers=admin_headers)
    assert r.status_code == 422


async def test_invalid_uuid_in_path_is_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    r = await client.get("/users/not-a-uuid", headers=admin_headers)
    assert r.status_code == 422


@pytest.mark.parametrize(
    "value",
    ["x" * 10_000, "a\x00b", "'; DROP TABLE users; --", "../../etc/passwd", "\ud800", "é" * 300],
)
async def test_hostile_strings_never_500(
    client: httpx.AsyncClient, alice_headers: dict[str, str], value: str
) -> None:
    # ensure_ascii keeps a lone surrogate as a JSON escape, as a hostile client would send it
    body = json.dumps({"name": value}).encode()
    headers = {**alice_headers, "Content-Type": "application/json"}
    r = await client.patch("/users/me", content=body, headers=headers)
    assert r.status_code in (200, 400, 422), r.text
    raw = quote(value[:255].encode("utf-8", "surrogatepass"))
    r = await client.get(f"/users?username={raw}", headers=alice_headers)
    assert r.status_code in (200, 400, 422), r.text
    form = f"username={raw}&password={raw}".encode()
    r = await client.post(
        "/auth/login",
        content=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code in (400, 401, 422), r.text


async def test_wrong_types_are_422(
    client: httpx.AsyncClient, alice_headers: dict[str, str]
) -> None:
    r = await client.patch("/users/me", json={"is_onboarded": "maybe"}, headers=alice_headers)
    assert r.status_code == 422
    r = await client.patch("/users/me", json=["not", "an", "object"], headers=alice_headers)
    assert r.status_code == 422


async def test_deep_json_is_a_clear_4xx(
    client: httpx.AsyncClient, alice_headers: dict[str, str]
) -> None:
    deep = "[" * 5000 + "]" * 5000
    r = await client.patch(
        "/users/me",
        content=deep.encode(),
        headers={**alice_headers, "Content-Type": "application/json"},
    )
    assert 400 <= r.status_code < 500


async def test_oversized_body_is_413(database_url: str) -> None:
    async with other_app(database_url, max_body_bytes=2048) as c:
        r = await c.patch("/users/me", json={"name": "x" * 5000})
        assert r.status_code == 413
        assert "limit" in r.json()["detail"]
        r = await c.get("/health")
        assert r.status_code == 200


async def _set_avatar(
    client: httpx.AsyncClient, headers: dict[str, str], url: str
) -> tuple[httpx.Response, dict[str, Any]]:
    """PATCH ``avatar_url`` on /users/me: the answer, and /users/me read afterwards."""
    r = await client.patch("/users/me", json={"avatar_url": url}, headers=headers)
    return r, (await client.get("/users/me", headers=headers)).json()


BAD_URLS = [
    "http://[",  # an unclosed IPv6 bracket: urlsplit raises on it
    "http://[::1]/a.png",  # IPv6 literals are refused (see the Url type)
    "http://",
    "http:///logo.png",
    "ftp://example.com/logo.png",
    "http://exa mple.com/logo.png",
    "http://münchen.example/logo.png",  # non-ASCII host: send it as punycode
    "javascript:alert(1)",
]
GOOD_URLS = [
    "https://example.com/logo.png",
    "http://cdn.example.com:8080/a/b.png?size=[64]&v=2#top",
    "https://user@xn--mnchen-3ya.example/logo.png",
    "http://127.0.0.1",
]


@pytest.mark.parametrize(
    ("url", "good"), [(u, False) for u in BAD_URLS] + [(u, True) for u in GOOD_URLS]
)
async def test_bad_urls_are_422_and_name_the_field_good_ones_are_kept(
    client: httpx.AsyncClient, alice_headers: dict[str, str], url: str, good: bool
) -> None:
    r, me = await _set_avatar(client, alice_headers, url)
    if not good:
        assert r.status_code == 422, r.text
        assert "avatar_url" in r.text
        assert me.get("avatar_url") != url
        return
    assert r.status_code == 200, r.text
    assert r.json()["avatar_url"] == url
    assert me["avatar_url"] == url
    assert urlsplit(me["avatar_url"]).hostname  # and it parses
