"""A real ``zenpro serve`` (uvicorn): the app's own request limits answer first, in the
API's error shape; what the HTTP server still refuses itself is what docs/reliability.md
lists ("Request size"). The ``/api/v1`` base works through the real server too."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from tests.reliability.servers import logged_in_server
from tests.support.processes import ZenproServer
from zenpro.kit.request_limits import MAX_HEADER_BYTES, MAX_TARGET_BYTES

SERVER_TARGET_LIMIT = 65535  # httptools' URL parser: longer targets never reach the app


@pytest.fixture(scope="module")
def server() -> Iterator[ZenproServer]:
    with logged_in_server() as srv:
        yield srv


def _raw_get(server: ZenproServer, target: str) -> bytes:
    """A GET with a target httpx would refuse to send (over 64 KiB)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    return answer


def _get(server: ZenproServer, path: str, **headers: str) -> httpx.Response:
    return httpx.get(server.url + path, headers=headers, timeout=30)


def _assert_app_refused(r: httpx.Response, status: int) -> None:
    assert r.status_code == status, r.text[:200]
    assert r.headers["content-type"] == "application/json"
    assert isinstance(r.json()["detail"], str)


@pytest.mark.parametrize("size", [MAX_TARGET_BYTES + 1, 48 * 1024, 64 * 1024 - 100])
def test_long_targets_get_the_apps_414(server: ZenproServer, size: int) -> None:
    _assert_app_refused(_get(server, "/health?q=" + "a" * (size - 10)), 414)


def test_what_the_server_still_refuses_itself(server: ZenproServer) -> None:
    answer = _raw_get(server, "/health?q=" + "a" * SERVER_TARGET_LIMIT)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert answer.endswith(b"\r\n\r\nInvalid HTTP request received.")
    just_under = _raw_get(server, "/health?q=" + "a" * (SERVER_TARGET_LIMIT - 20))
    assert just_under.startswith(b"HTTP/1.1 414 ")  # the app's answer, up to the server's limit
    assert _get(server, "/health").status_code == 200  # and it keeps serving


@pytest.mark.parametrize("size", [MAX_HEADER_BYTES + 1, 64 * 1024, 1024 * 1024])
def test_large_headers_get_the_apps_431(server: ZenproServer, size: int) -> None:
    _assert_app_refused(_get(server, "/users/me", **{"X-Big": "a" * size}), 431)
    many = {f"X-H{i}": "a" * 1000 for i in range(size // 1000 + 1)}
    _assert_app_refused(_get(server, "/users/me", **many), 431)


def test_the_api_v1_base_through_the_real_server(server: ZenproServer) -> None:
    auth = server.headers()
    me = _get(server, "/api/v1/users/me", **auth)
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "admin"
    r = httpx.post(
        f"{server.url}/api/v1/users",
        json={"username": "second", "password": "a-long-password-1"},
        headers=auth,
        timeout=30,
    )
    assert r.status_code in (200, 201), r.text
    page = _get(server, "/api/v1/users?limit=1", **auth)
    link = page.headers["link"]
    assert link.startswith(f"<{server.url}/api/v1/users?cursor="), link
    assert link.endswith('&limit=1>; rel="next"'), link
    second = httpx.get(link[1 : link.index(">")], headers=auth, timeout=30)
    assert [u["username"] for u in second.json()] == ["second"]
    r = httpx.options(f"{server.url}/api/v1/login", timeout=30)
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, POST"
