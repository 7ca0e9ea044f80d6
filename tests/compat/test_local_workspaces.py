"""The ``local`` provisioner with the real zenml 0.98.0 server package (issue 17, Must
show 1), on SQLite and PostgreSQL (zenpro's own database; each ZenML server has its own
SQLite file).

One zenpro (``ZENPRO_WORKSPACE_PROVISIONER=local``) and one managed workspace per
database, shared by the steps below in file order, as a user would go: the workspace
becomes a real Pro-mode ZenML server; ``zenml login <name> --pro-api-url <zenpro>``
connects to it; a killed server is healed; restarting zenpro (and a second zenpro on the
same host) starts no second copy; deactivating stops it (port closed, ``zenml`` fails);
reactivating brings it back with its data; deleting removes process and data. zenpro runs
on a fixed port, so that a restarted zenpro is the same control plane for the servers
and the CLI. The measurements (start time, memory) are printed (``-s``); README
"Managed workspaces" states them.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.compat.harness import (
    ADMIN_PASSWORD,
    COMPAT_SETTINGS,
    Api,
    Cli,
    zenml_venv,
)
from tests.fixtures import db as dbfix
from tests.fixtures.services import need
from tests.support.processes import (
    ROOT,
    ZenproServer,
    base_env,
    free_port,
    live_processes,
    port_open,
    running,
    zenpro_command,
)
from zenpro.workspaces.local.processes import identity, rss_bytes

pytestmark = pytest.mark.zenml

APP = "zenml.zen_server.zen_server_api:app"
SECRET_VAR = b"ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET="
START_TIMEOUT = 180.0


@contextmanager
def zenpro_on(
    home: Path, port: int, database_url: str, log: Path, base_url: str | None = None
) -> Iterator[ZenproServer]:
    """``zenpro serve --migrate`` on ``port`` (the same one across restarts), its local
    servers under ``home/data``. ``base_url``: another instance's public URL (several
    zenpro processes behind one address)."""
    url = f"http://127.0.0.1:{port}"
    env = {
        **base_env(home),
        "ZENPRO_HOME": str(ROOT),
        "ZENPRO_DATABASE_URL": database_url,
        "ZENPRO_BASE_URL": base_url or url,
        "ZENPRO_ADMIN_PASSWORD": ADMIN_PASSWORD,
        **COMPAT_SETTINGS,
        "ZENPRO_WORKSPACE_PROVISIONER": "local",
        "ZENPRO_LOCAL_ZENML_VENV": str(zenml_venv()),
        "ZENPRO_LOCAL_DATA_DIR": str(home / "data"),
        "ZENPRO_LOCAL_RESTART_BACKOFF_SECONDS": "0.5",
        "ZENPRO_LOCAL_DELETE_GRACE_SECONDS": "2",
    }
    cmd = [*zenpro_command(), "serve", "--host", "127.0.0.1", "--port", str(port), "--migrate"]
    with running(
        cmd,
        env=env,
        cwd=home,
        log=log,
        ready_url=f"{url}/health",
        what="zenpro serve",
        ready=lambda status: status == 200,
        new_session=True,
    ) as proc:
        yield ZenproServer(proc, port, log, env, None, ADMIN_PASSWORD)


def servers_of(ws_dir: Path) -> list[int]:
    """Live ZenML server processes running in a workspace's directory."""
    here = ws_dir.resolve()
    return [pid for pid, argv, cwd in live_processes() if APP.encode() in argv and cwd == here]


def url_open(url: str) -> bool:
    return port_open(int(url.rsplit(":", 1)[1]), timeout=1)


@dataclass
class LocalWorld:
    tmp: Path
    port: int
    database_url: str
    cp: ZenproServer = field(init=False)
    admin: Api = field(init=False)
    org_id: str = ""
    ws_id: str = ""
    url: str = ""
    facts: dict[str, float] = field(default_factory=dict)
    restarts: int = 0
    running: AbstractContextManager[ZenproServer] | None = None

    def start(self) -> None:
        """(Re)start zenpro on its port, on its database."""
        log = self.tmp / f"zenpro-{self.restarts}.log"
        self.running = zenpro_on(self.tmp, self.port, self.database_url, log)
        self.cp = self.running.__enter__()
        self.restarts += 1

    def stop(self) -> None:
        if self.running is not None:
            self.running.__exit__(None, None, None)
            self.running = None

    @property
    def cp_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_dir(self) -> Path:
        return self.tmp / "data" / "servers" / self.ws_id

    def record(self) -> dict[str, Any]:
        return dict(json.loads((self.ws_dir / "server.json").read_text()))

    def workspace(self) -> dict[str, Any]:
        return dict(self.admin.call("GET", f"/workspaces/{self.ws_id}"))

    def until(self, done: Callable[[dict[str, Any]], bool], timeout: float = 120) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            ws = self.workspace()
            if done(ws):
                return ws
            assert time.monotonic() < deadline, f"{ws}\n{self.log_tail()}"
            time.sleep(0.25)

    def log_tail(self) -> str:
        log = self.ws_dir / "server.log"
        return log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"

    def cli(self) -> Cli:
        home = self.tmp / "client-admin"
        home.mkdir(exist_ok=True)
        return Cli(zenml_venv(), home, self.cp_url)

    def fact(self, name: str, value: float) -> None:
        self.facts[name] = round(value, 1)
        print(f"\nlocal provisioner: {name} = {value:.1f}")  # shown with -s


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalWorld]:
    tmp = tmp_path_factory.mktemp(f"local-{request.param}")
    if request.param == "postgres":
        need("postgres")
        database_url = asyncio.run(dbfix.fresh_postgres("_local"))
    else:
        database_url = f"sqlite+aiosqlite:///{tmp / 'zenpro.db'}"
    world = LocalWorld(tmp, free_port(), database_url)
    world.start()
    try:
        world.admin = Api(world.cp_url).login("admin", ADMIN_PASSWORD)
        yield world
    finally:
        world.stop()
        if world.ws_id:  # servers outlive zenpro by design: stop what this test started
            for pid in servers_of(world.ws_dir):
                os.killpg(pid, signal.SIGKILL)


def test_a_managed_workspace_becomes_a_real_zenml_server(world: LocalWorld) -> None:
    org = world.admin.call("POST", "/organizations", json={"name": "acme"}, expect=201)
    world.org_id = org["id"]
    started = time.monotonic()
    ws = world.admin.call(
        "POST", "/workspaces", json={"name": "lab", "organization_id": org["id"]}, expect=201
    )
    world.ws_id = ws["id"]
    assert ws["is_managed"] is True
    assert "enrollment_key" not in ws or ws["enrollment_key"] is None  # zenpro's own
    ws = world.until(lambda w: w["status"] in ("available", "failed"), START_TIMEOUT)
    assert ws["status"] == "available", f"{ws}\n{world.log_tail()}"
    world.fact("first start, create → available (s)", time.monotonic() - started)
    world.url = ws["zenml_service"]["status"]["server_url"]
    assert ws["zenml_service"]["status"]["version"] == "0.98.0"
    info = httpx.get(f"{world.url}/api/v1/info").json()
    assert info["deployment_type"] == "cloud"
    assert info["id"] == world.ws_id
    assert info["pro_api_url"] == world.cp_url
    assert info["dashboard_url"] == f"{world.cp_url}/console/workspaces/lab"
    assert servers_of(world.ws_dir) == [world.record()["pid"]]
    rss = rss_bytes(world.record()["pid"])
    assert rss is not None
    world.fact("RSS after start (MiB)", rss / 2**20)


def test_zenml_login_by_name_connects(world: LocalWorld) -> None:
    cli = world.cli()

    def approve(user_code: str) -> None:
        world.admin.approve_device("admin", ADMIN_PASSWORD, user_code, world.ws_id)

    rc, out = cli.device_login(["lab", "--pro-api-url", world.cp_url], approve)
    assert rc == 0, out
    assert "Connected to ZenML Pro server" in out, out
    rc, out = cli.run("stack", "register", "kept", "-o", "default", "-a", "default")
    assert rc == 0, out
    rc, out = cli.run("stack", "list")
    assert rc == 0, out
    assert "kept" in out, out
    rss = rss_bytes(world.record()["pid"])
    assert rss is not None
    world.fact("RSS after login and a few calls (MiB)", rss / 2**20)


def test_a_killed_server_is_healed(world: LocalWorld) -> None:
    pid = world.record()["pid"]
    killed = time.monotonic()
    os.killpg(pid, signal.SIGKILL)
    world.until(lambda w: w["status"] == "pending" and "code -9" in w["state_reason"], 30)
    ws = world.until(lambda w: w["status"] == "available", START_TIMEOUT)
    world.fact("restart after kill -9, → available (s)", time.monotonic() - killed)
    assert ws["zenml_service"]["status"]["server_url"] == world.url  # same port
    assert world.record()["pid"] != pid
    assert len(servers_of(world.ws_dir)) == 1
    rc, out = world.cli().run("stack", "list")  # same URL, same JWT key: no new login
    assert rc == 0, out
    assert "kept" in out, out


def test_restarting_zenpro_starts_no_second_server(world: LocalWorld) -> None:
    pid = world.record()["pid"]
    world.stop()
    world.start()
    assert servers_of(world.ws_dir) == [pid]  # it ran on while zenpro was away
    time.sleep(2)  # several reconciler passes of the new zenpro (every 0.5 s)
    assert servers_of(world.ws_dir) == [pid]  # adopted, not started again
    assert world.workspace()["status"] == "available"
    assert "adopted server pid" in world.cp.log_text()
    # a second zenpro on this host (same database, same data, same public URL)
    other = world.tmp / "second"
    other.mkdir(exist_ok=True)
    (other / "data").symlink_to(world.tmp / "data")
    with zenpro_on(other, free_port(), world.database_url, other / "zenpro.log", world.cp_url):
        time.sleep(2)
        assert servers_of(world.ws_dir) == [pid]
        assert world.workspace()["status"] == "available"
    rc, out = world.cli().run("stack", "list")
    assert rc == 0, out


def test_deactivating_stops_the_server(world: LocalWorld) -> None:
    pid = world.record()["pid"]
    world.admin.call("PATCH", f"/workspaces/{world.ws_id}", json={"desired_state": "deactivated"})
    world.until(lambda w: w["status"] == "deactivated", 60)
    assert not servers_of(world.ws_dir)
    assert identity(pid) is None  # gone (at most a zombie of an init that does not reap)
    assert not url_open(world.url)
    # the CLI retries a refused connection for ~30 s (urllib3: 5 times, backoff 1), then fails
    rc, out = world.cli().run("stack", "list", timeout=180)
    assert rc != 0, out


def test_reactivating_brings_it_back_with_its_data(world: LocalWorld) -> None:
    started = time.monotonic()
    world.admin.call("PATCH", f"/workspaces/{world.ws_id}", json={"desired_state": "available"})
    ws = world.until(lambda w: w["status"] == "available", START_TIMEOUT)
    world.fact("reactivation, → available (s)", time.monotonic() - started)
    assert ws["zenml_service"]["status"]["server_url"] == world.url
    rc, out = world.cli().run("stack", "list")
    assert rc == 0, out
    assert "kept" in out, out  # the stack registered before deactivating


def test_the_client_secret_is_only_in_the_servers_environment(world: LocalWorld) -> None:
    pid = world.record()["pid"]
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    (secret,) = [e.split(b"=", 1)[1] for e in environ if e.startswith(SECRET_VAR)]
    assert secret.startswith(b"zpe_")
    assert not [e for e in environ if e.startswith(b"ZENPRO_")]
    # nowhere on disk: zenpro's logs and SQLite file, the server's directory (its own
    # database and log), the CLI's configuration
    for path in world.tmp.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert secret not in path.read_bytes(), path


def test_deleting_removes_process_and_data(world: LocalWorld) -> None:
    assert world.ws_dir.is_dir()
    world.admin.call("DELETE", f"/workspaces/{world.ws_id}")
    deadline = time.monotonic() + 60
    while servers_of(world.ws_dir) or url_open(world.url):
        assert time.monotonic() < deadline, world.log_tail()
        time.sleep(0.25)
    while world.ws_dir.exists():  # after ZENPRO_LOCAL_DELETE_GRACE_SECONDS (2 s here)
        assert time.monotonic() < deadline
        time.sleep(0.25)
    assert world.workspace()["status"] == "deleted"
