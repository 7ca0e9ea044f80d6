"""The real zenml 0.98.0 CLI, Pro client and Pro-mode server against a real zenpro.

One module-scoped world: zenpro, users/org/workspace seeded over HTTP, an unmodified ZenML
server enrolled as that workspace. The tests run in file order (device login first).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.compat.harness import (
    ADMIN_PASSWORD,
    ROOT,
    USER_PASSWORD,
    Cli,
    World,
    sees_workspace,
    zenml_world,
)
from zenpro.authz.vocabulary import WORKSPACE_VIEWER_ID

pytestmark = pytest.mark.zenml

OAUTH_KEYS = {"error", "error_description", "error_uri", "status_code"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with zenml_world(tmp_path_factory.mktemp("compat")) as w:
        yield w


def test_enrolled_server_becomes_available(world: World) -> None:
    ws = world.admin.call("GET", f"/workspaces/{world.ws.id}")
    assert ws["status"] == "available"
    assert ws["zenml_service"]["status"]["server_url"] == world.ws_url
    assert ws["zenml_service"]["status"]["version"] == "0.98.0"
    info = httpx.get(f"{world.ws_url}/api/v1/info").json()
    assert info["deployment_type"] == "cloud"
    assert info["pro_api_url"] == world.cp.url


def _device_login(world: World, cli: Cli, user: str) -> str:
    def approve(user_code: str) -> None:
        world.admin.approve_device(user, USER_PASSWORD, user_code, world.ws.id)

    rc, out = cli.device_login(["--pro", "--pro-api-url", world.cp.url], approve)
    assert rc == 0, out
    assert "Connected to ZenML Pro server" in out, out
    return out


def test_device_login_viewer_lists_but_cannot_register(world: World) -> None:
    alice = world.cli("alice")
    _device_login(world, alice, "alice")
    sees_workspace(alice, "ws1")
    rc, out = alice.run("stack", "register", "viewer-stack", "-o", "default", "-a", "default")
    assert rc != 0, out
    assert "permission" in out.lower(), out


def test_workspace_admin_can_register(world: World) -> None:
    bob = world.cli("bob")
    _device_login(world, bob, "bob")
    rc, out = bob.run("stack", "register", "admin-stack", "-o", "default", "-a", "default")
    assert rc == 0, out
    rc, out = bob.run("stack", "list")
    assert "admin-stack" in out, out


def test_removing_the_role_cuts_access(world: World) -> None:
    alice = world.cli("alice")
    # Bob's stack: reading it needs a check_permissions answer from zenpro.
    rc, out = alice.run("stack", "describe", "admin-stack")
    assert rc == 0, out
    world.admin.call(
        "DELETE",
        f"/roles/{WORKSPACE_VIEWER_ID}/assignments",
        params={"user_id": world.ids["alice"], "workspace_id": world.ws.id},
    )
    rc, out = alice.run("stack", "describe", "admin-stack")
    assert rc != 0, out
    # The stack is filtered out (allowed_resource_ids) or refused (check_permissions).
    assert "permission" in out.lower() or "no stacks have been found" in out.lower(), out
    # And a fresh login to the workspace is refused (authorize_server → 403).
    cred = _pro_token(alice)
    r = httpx.get(
        f"{world.cp.url}/users/authorize_server",
        params={"server_id": world.ws.id},
        headers={"Authorization": f"Bearer {cred}"},
    )
    assert r.status_code == 403
    assert r.json()["detail"][0] == "IllegalOperationError"


SNIPPET = """
import json, sys
from zenml.login.credentials_store import get_credentials_store
from zenml.login.pro.client import ZenMLProClient
url, key, ws_id = sys.argv[1:4]
get_credentials_store().set_api_key(url, key, is_zenml_pro=True)
client = ZenMLProClient(url)
listed = client.workspace.list()
one = client.workspace.get(ws_id)
print("RESULT" + json.dumps({
    "names": [w.name for w in listed],
    "id": str(one.id),
    "status": one.status,
    "url": one.url,
}))
"""


def test_pro_client_with_service_account_key(world: World) -> None:
    cli = world.cli("python-sa")
    rc, out = cli.python(SNIPPET, world.cp.url, world.sa_key, world.ws.id)
    assert rc == 0, out
    result = json.loads(out.split("RESULT", 1)[1].splitlines()[0])
    assert result["names"] == ["ws1"]
    assert result["id"] == world.ws.id
    assert result["url"] == world.ws_url


def test_api_key_cli_login(world: World) -> None:
    cli = world.cli("cli-sa")
    rc, out = cli.run(
        "login", "ws1", "--api-key", "--pro-api-url", world.cp.url, stdin=world.sa_key + "\n"
    )
    assert rc == 0, out
    assert "Connected to ZenML Pro server" in out, out
    rc, out = cli.run("stack", "list")
    assert rc == 0, out


def test_bad_credentials_over_http(world: World) -> None:
    url = world.cp.url
    for token in ("zps_bogus", "ZENPROKEY_bogus", world.ws.enrollment_key):
        r = httpx.get(f"{url}/users/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.json()["detail"][0] == "CredentialsNotValid"
    r = httpx.post(
        f"{url}/auth/login",
        data={
            "grant_type": "client_credentials",
            "client_id": world.ws.id,
            "client_secret": "zpe_wrong",
            "audience": "x",
        },
    )
    assert r.status_code == 401
    r = httpx.post(f"{url}/auth/login", data={"password": "ZENPROKEY_wrong"})
    assert r.status_code == 401
    assert r.json()["detail"][0] == "CredentialsNotValid"
    flow = httpx.post(
        f"{url}/auth/device_authorization", data={"client_id": world.ids["alice"]}
    ).json()
    for data in (
        {"client_id": world.ids["alice"], "device_code": flow["device_code"]},
        {"client_id": world.ids["alice"], "device_code": "nope"},
    ):
        r = httpx.post(
            f"{url}/auth/login",
            data={"grant_type": "urn:ietf:params:oauth:grant-type:device_code", **data},
        )
        assert r.status_code == 400
        assert set(r.json()) == OAUTH_KEYS, r.json()


def _pro_token(cli: Cli) -> str:
    """The Pro API token the CLI stored after its device login (zenpro tokens are opaque
    ``zps_…`` strings; the workspace JWT in the same file is not one)."""
    text = (cli.home / "config" / "credentials.yaml").read_text()
    found = re.findall(r"zps_[A-Za-z0-9_\-]+", text)
    assert found, text
    return str(found[0])


def test_secrets_never_stored_or_logged_in_clear(world: World) -> None:
    time.sleep(0.5)  # let the log flush
    secrets = {
        "service-account key": world.sa_key,
        "enrollment key": world.ws.enrollment_key,
        "device token": _pro_token(world.cli("alice")),
        "admin password": ADMIN_PASSWORD,
        "user password": USER_PASSWORD,
    }
    log = world.cp.log_text()
    db = world.cp.db_bytes()
    listed = json.dumps(
        world.admin.call(
            "GET", f"/organizations/{world.ws.org_id}/service_accounts/ci-bot/api_keys"
        )
    )
    for label, secret in secrets.items():
        assert secret not in log, f"{label} in zenpro's log"
        assert secret.encode() not in db, f"{label} in the database file"
        assert secret not in listed, f"{label} in a list response"


def test_workspace_script_prints_the_server_command(world: World) -> None:
    token = world.admin.http.headers["Authorization"].split(" ", 1)[1]
    proc = subprocess.run(
        [str(ROOT / "scripts" / "zenml-workspace.sh"), "--data", str(world.tmp / "script"), "ws1"],
        env={
            "PATH": "/usr/bin:/bin",
            "ZENPRO_URL": world.cp.url,
            "ZENPRO_TOKEN": token,
            "ZENPRO_ENROLLMENT_KEY": world.ws.enrollment_key,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    for expected in (
        f"ZENML_SERVER_PRO_API_URL={world.cp.url}",
        f"ZENML_SERVER_PRO_WORKSPACE_ID={world.ws.id}",
        f"ZENML_SERVER_PRO_ORGANIZATION_ID={world.ws.org_id}",
        "ZENML_SERVER_PRO_WORKSPACE_NAME=ws1",
        "ZENML_SERVER_DEPLOYMENT_TYPE=cloud",
        "zenml.zen_server.zen_server_api:app",
    ):
        assert expected in proc.stdout, proc.stdout
