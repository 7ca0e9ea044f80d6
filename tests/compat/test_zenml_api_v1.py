"""The real zenml 0.98.0 against zenpro's self-hosted base URL, ``<zenpro>/api/v1``.

Self-hosted ZenML Pro documents its API under ``/api/v1``; the CLI and a Pro-mode server
are given that URL (``--pro-api-url``, ``ZENML_SERVER_PRO_API_URL``) and must work exactly as
at the root: the server enrolls and reports its status, users log in by the device flow
and with an API key, and every permission decision comes from zenpro.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.compat.harness import USER_PASSWORD, World, zenml_world

pytestmark = pytest.mark.zenml
PREFIX = "/api/v1"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with zenml_world(tmp_path_factory.mktemp("compat-api-v1"), PREFIX) as w:
        yield w


def test_a_server_enrolled_at_api_v1_becomes_available(world: World) -> None:
    ws = world.admin.call("GET", f"/workspaces/{world.ws.id}")
    assert ws["status"] == "available"
    assert ws["zenml_service"]["status"]["server_url"] == world.ws_url
    info = httpx.get(f"{world.ws_url}/api/v1/info").json()
    assert info["pro_api_url"] == world.api


def test_device_login_at_api_v1_and_permissions_from_zenpro(world: World) -> None:
    for user, may_register in (("bob", True), ("alice", False)):
        cli = world.cli(user)

        def approve(user_code: str, who: str = user) -> None:
            world.admin.approve_device(who, USER_PASSWORD, user_code, world.ws.id)

        rc, out = cli.device_login(["--pro", "--pro-api-url", world.api], approve)
        assert rc == 0, out
        assert "Connected to ZenML Pro server" in out, out
        rc, out = cli.run("stack", "register", f"{user}-stack", "-o", "default", "-a", "default")
        assert (rc == 0) is may_register, out
        if not may_register:
            assert "permission" in out.lower(), out
        rc, out = cli.run("stack", "list")
        assert rc == 0, out
        assert "bob-stack" in out, out


def test_api_key_login_at_api_v1(world: World) -> None:
    cli = world.cli("sa")
    rc, out = cli.run(
        "login", world.ws.name, "--api-key", "--pro-api-url", world.api, stdin=world.sa_key + "\n"
    )
    assert rc == 0, out
    rc, out = cli.run("stack", "list")
    assert rc == 0, out
