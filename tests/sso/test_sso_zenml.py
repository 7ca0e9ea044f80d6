"""Must show 2 of issue 15: the real ``zenml`` 0.98.0 CLI's ``zenml login --pro`` device
flow, approved in headless Chromium by a user who signs in by SSO at the real provider;
then that user's workspace access works through the CLI.

The world of ``tests/compat`` (zenpro seeded over HTTP, an unmodified Pro-mode ZenML
server enrolled as ws1), with zenpro configured for the test provider. ``alice`` (Workspace
Viewer, alice@example.com) was created with a password; she signs in by SSO with that
verified address, which links her (``corp`` takes any domain).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.compat.harness import ADMIN_PASSWORD as COMPAT_ADMIN_PASSWORD
from tests.compat.harness import (
    Api,
    World,
    run_zenml_server,
    run_zenpro,
    seed,
    sees_workspace,
    zenml_venv,
)
from tests.sso.conftest import Idp, Stack, _enter, free_port, new_page, node, providers_env
from tests.sso.flows import at_provider, me

pytestmark = [pytest.mark.zenml, pytest.mark.browser]


@pytest.fixture(scope="module")
def sso_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, Stack]]:
    node()
    tmp: Path = tmp_path_factory.mktemp("sso-zenml")
    venv = zenml_venv()
    idp_port = free_port()
    env = {"ZENPRO_OIDC_PROVIDERS": providers_env(f"http://127.0.0.1:{idp_port}")}
    with run_zenpro(tmp, None, **env) as cp:
        cp.admin_password = COMPAT_ADMIN_PASSWORD
        cp.token = cp.admin_token()
        idp = Idp(idp_port, cp.url, tmp)
        idp.stack = _enter(idp)
        try:
            admin = Api(cp.url).login("admin", COMPAT_ADMIN_PASSWORD)
            ws, ids, key = seed(admin)
            with run_zenml_server(venv, tmp, cp.url, ws) as (ws_url, _proc, ws_log):
                world = World(cp, admin, ws, ws_url, ws_log, venv, tmp, ids, key)
                yield world, Stack(cp, idp, "sqlite")
        finally:
            idp.stack.close()


def test_zenml_login_pro_approved_by_an_sso_user(
    sso_world: tuple[World, Stack], browser: Browser
) -> None:
    world, stack = sso_world
    pg = new_page(browser, stack)

    def approve(user_code: str) -> None:
        pg.goto(f"/devices/verify?user_code={user_code}")
        pg.wait_for_url("**/login?next=*")
        with pg.expect_navigation(url=f"{stack.idp.url}/**"):
            pg.get_by_role("link", name="Sign in with Corp SSO").click()
        at_provider(pg, stack, "alice@example.com")
        pg.wait_for_url(f"**/devices/verify?user_code={user_code}")
        pg.locator("#workspace_id").select_option(world.ws.id)
        pg.get_by_role("button", name="Approve").click()
        pg.wait_for_selector("text=Device approved")

    try:
        alice = world.cli("alice")
        rc, out = alice.device_login(["--pro", "--pro-api-url", world.cp.url], approve)
        assert rc == 0, out
        assert "Connected to ZenML Pro server" in out, out
        signed_in = me(pg)
        assert signed_in["id"] == world.ids["alice"]  # linked, not a new user
        assert signed_in["oauth_provider"] == "corp"
        sees_workspace(alice, "ws1")
    finally:
        pg.context.close()
