"""The local provisioner's supervision, without ZenML: a stand-in server
(``standin_server.py``) gets the environment ZenML would and answers ``/api/v1/info`` as
ZenML does, so the real probe, locks, records, backoff, failure count, adoption, the sweep
and the limits run as in production, in milliseconds. The real ZenML server is driven by
``tests/compat/test_local_workspaces.py``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import make_settings
from tests.fixtures.authz import assign
from tests.fixtures.factories import bearer, make_user, token_for
from tests.fixtures.orgs import create_org_via_api, create_ws_via_api
from tests.support.apps import other_app
from tests.support.processes import live_processes, port_open
from zenpro.authz.vocabulary import WORKSPACE_VIEWER_ID
from zenpro.config import Settings
from zenpro.models import Workspace
from zenpro.workspaces.lifecycle import Provisioners, reconcile_once
from zenpro.workspaces.local import LocalProvisioner, log_tail, server
from zenpro.workspaces.local.files import Lock, ServerDir, rotate, tail
from zenpro.workspaces.local.server import Venv, ZenMLRuntime
from zenpro.workspaces.local.supervisor import RestartPolicy

STANDIN = Path(__file__).with_name("standin_server.py")
FAST = RestartPolicy(backoff=0.05, backoff_max=0.2, max_failures=3, start_timeout=3.0)


class StandIn(ZenMLRuntime):
    """Runs ``standin_server.py`` instead of ZenML (``mode`` applies from the next start)."""

    def __init__(self, mode: str = "ok") -> None:
        super().__init__()
        self.mode = mode

    async def check(self, settings: Settings) -> None:
        return None

    def argv(self, settings: Settings, port: int) -> list[str]:
        tag = str(settings.local_data_dir)
        return [
            sys.executable,
            str(STANDIN),
            "--port",
            str(port),
            "--mode",
            self.mode,
            "--tag",
            tag,
        ]


def standins(tag: Path) -> list[int]:
    """Live stand-in servers of one test (by the data directory on their command line)."""
    me, mine = str(STANDIN).encode(), str(tag).encode()
    return [pid for pid, argv, _ in live_processes() if me in argv and mine in argv]


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    for pid in standins(tmp_path):  # what a failed test left running
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def settings(app: FastAPI, data_dir: Path) -> Settings:
    base: Settings = app.state.settings
    return base.model_copy(
        update={
            "workspace_provisioner": "local",
            "local_data_dir": data_dir,
            "local_delete_grace_seconds": 0.3,
        }
    )


class World:
    def __init__(self, app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str]):
        self.app, self.client, self.headers = app, client, headers

    async def workspace(self, ws_id: str) -> dict[str, Any]:
        r = await self.client.get(f"/workspaces/{ws_id}", headers=self.headers)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def patch(self, ws_id: str, desired: str) -> None:
        r = await self.client.patch(
            f"/workspaces/{ws_id}", json={"desired_state": desired}, headers=self.headers
        )
        assert r.status_code == 200, r.text

    async def until(
        self,
        settings: Settings,
        provs: Provisioners,
        ws_id: str,
        done: Callable[[dict[str, Any]], bool],
        timeout: float = 15.0,
    ) -> dict[str, Any]:
        """Reconciler passes until the workspace satisfies ``done``."""
        deadline = time.monotonic() + timeout
        while True:
            await reconcile_once(self.app.state.sessionmaker, settings, provs)
            ws = await self.workspace(ws_id)
            if done(ws):
                return ws
            assert time.monotonic() < deadline, ws
            await asyncio.sleep(0.05)

    async def available(self, settings: Settings, provs: Provisioners, ws_id: str) -> str:
        ws = await self.until(settings, provs, ws_id, lambda w: w["status"] == "available")
        return str(ws["zenml_service"]["status"]["server_url"])


@pytest.fixture
def world(app: FastAPI, client: httpx.AsyncClient, alice_headers: dict[str, str]) -> World:
    return World(app, client, alice_headers)


def local(app: FastAPI, runtime: ZenMLRuntime | None = None) -> Provisioners:
    prov = LocalProvisioner(app.state.sessionmaker, runtime or StandIn(), FAST)
    return Provisioners(managed=prov)


async def _new(world: World, name: str = "lab") -> str:
    org = await create_org_via_api(world.client, world.headers, "acme")
    return str((await create_ws_via_api(world.client, world.headers, org["id"], name))["id"])


async def test_a_managed_workspace_gets_its_own_server(
    world: World, settings: Settings, data_dir: Path
) -> None:
    ws_id = await _new(world)
    provs = local(world.app)
    url = await world.available(settings, provs, ws_id)
    assert url.startswith("http://127.0.0.1:")
    info = httpx.get(f"{url}/api/v1/info").json()
    assert info["id"] == ws_id
    assert info["server_url"] == url
    # zenpro's own URL for the API (as the CLI is given it) and its console for browsers
    assert info["pro_api_url"] == settings.base_url
    assert info["dashboard_url"] == f"{settings.base_url}/console/workspaces/lab"
    # an environment built from nothing: no setting of zenpro's (its database URL) leaks
    assert not [k for k in info["env"] if k.startswith("ZENPRO_")]
    # the credential: made by zenpro, stored hashed, its clear text nowhere on disk
    async with world.app.state.sessionmaker() as db:
        stored = await db.scalar(select(Workspace.enrollment_key_hash))
    assert stored == info["key_sha256"]
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert b"zpe_" not in path.read_bytes(), path
    assert "standin: listening on port" in log_tail(uuid.UUID(ws_id), settings)
    assert len(standins(data_dir)) == 1
    await world.patch(ws_id, "deactivated")
    await world.until(settings, provs, ws_id, lambda w: w["status"] == "deactivated")
    assert not standins(data_dir)


async def test_the_console_shows_administrators_the_end_of_the_server_log(
    world: World, settings: Settings, app: FastAPI, db: AsyncSession
) -> None:
    ws_id = await _new(world)
    provs = local(world.app)
    await world.available(settings, provs, ws_id)
    app.state.settings = settings  # the console reads the app's settings
    page = await world.client.get(f"/console/workspaces/{ws_id}", headers=world.headers)
    assert page.status_code == 200, page.text
    assert "Server log" in page.text
    assert "standin: listening on port" in page.text
    # an Organization Member (no right to change the workspace) sees no log
    org_id = (await world.workspace(ws_id))["organization"]["id"]
    viewer = await make_user(db)
    await assign(
        db, WORKSPACE_VIEWER_ID, uuid.UUID(org_id), user=viewer, workspace=uuid.UUID(ws_id)
    )
    seen = await world.client.get(
        f"/console/workspaces/{ws_id}", headers=bearer(await token_for(db, viewer))
    )
    assert seen.status_code == 200, seen.text
    assert "Server log" not in seen.text
    await world.patch(ws_id, "deactivated")
    await world.until(settings, provs, ws_id, lambda w: w["status"] == "deactivated")


async def test_deactivate_stops_and_reactivate_brings_the_data_back(
    world: World, settings: Settings, data_dir: Path
) -> None:
    ws_id = await _new(world)
    provs = local(world.app)
    url = await world.available(settings, provs, ws_id)
    first = httpx.get(f"{url}/api/v1/info").json()
    port = int(url.rsplit(":", 1)[1])
    await world.patch(ws_id, "deactivated")
    await world.until(settings, provs, ws_id, lambda w: w["status"] == "deactivated")
    assert not standins(data_dir)
    assert not port_open(port)
    assert ServerDir.of(settings, uuid.UUID(ws_id)).root.is_dir()  # the data stays
    await world.patch(ws_id, "available")
    assert await world.available(settings, provs, ws_id) == url  # same port: same URL
    again = httpx.get(f"{url}/api/v1/info").json()
    assert again["pid"] != first["pid"]
    assert again["data_created"] == first["data_created"]
    assert "stopped the server (the workspace is deactivated)" in log_tail(
        uuid.UUID(ws_id), settings
    )
    await world.patch(ws_id, "deactivated")
    await world.until(settings, provs, ws_id, lambda w: w["status"] == "deactivated")


async def test_a_crash_is_restarted_then_failed_after_n_failures(
    world: World, settings: Settings, data_dir: Path
) -> None:
    ws_id = await _new(world)
    runtime = StandIn()
    provs = local(world.app, runtime)
    url = await world.available(settings, provs, ws_id)
    (pid,) = standins(data_dir)
    os.kill(pid, signal.SIGKILL)
    ws = await world.until(settings, provs, ws_id, lambda w: w["status"] == "pending")
    assert "exited with code -9; restarting in 0.05 s (failure 1 of 3)" in ws["state_reason"]
    assert await world.available(settings, provs, ws_id) == url  # healed, same URL
    (again,) = standins(data_dir)
    assert again != pid
    runtime.mode = "crash"
    os.kill(again, signal.SIGKILL)
    ws = await world.until(settings, provs, ws_id, lambda w: w["status"] == "failed")
    reason = ws["state_reason"]
    assert "exited with code 3; it failed 3 times in a row and is not restarted" in reason
    assert "standin: boom, cannot start" in reason  # the end of its log
    assert len(reason) <= 1024
    assert not standins(data_dir)
    # failed stays failed; asked again, it starts over with a fresh count
    runtime.mode = "ok"
    for _ in range(3):
        await reconcile_once(world.app.state.sessionmaker, settings, provs)
    assert (await world.workspace(ws_id))["status"] == "failed"
    await world.patch(ws_id, "available")
    assert await world.available(settings, provs, ws_id) == url
    await world.patch(ws_id, "deactivated")
    await world.until(settings, provs, ws_id, lambda w: w["status"] == "deactivated")


async def test_a_server_that_never_answers_is_failed(
    world: World, settings: Settings, data_dir: Path
) -> None:
    ws_id = await _new(world)
    policy = RestartPolicy(backoff=0.05, backoff_max=0.05, max_failures=1, start_timeout=0.5)
    prov = LocalProvisioner(world.app.state.sessionmaker, StandIn("hang"), policy)
    ws = await world.until(
        settings, Provisioners(managed=prov), ws_id, lambda w: w["status"] == "failed"
    )
    assert "did not answer within 0.5 s" in ws["state_reason"]
    assert not standins(data_dir)


async def test_one_supervisor_per_workspace_and_adoption(
    world: World, settings: Settings, data_dir: Path
) -> None:
    """Two provisioners (two zenpro processes on one host): one server. The second adopts
    it when the first is gone, and restarts it when it dies."""
    ws_id = await _new(world)
    first, second = local(world.app), local(world.app)
    await world.available(settings, first, ws_id)
    (pid,) = standins(data_dir)
    for _ in range(5):
        changed = await reconcile_once(world.app.state.sessionmaker, settings, second)
        assert changed == 0  # no opinion on a workspace another process supervises
    assert standins(data_dir) == [pid]
    assert isinstance(first.managed, LocalProvisioner)
    first.managed.close()  # its process ended: the lock is free, the server runs on
    for _ in range(5):
        await reconcile_once(world.app.state.sessionmaker, settings, second)
    assert standins(data_dir) == [pid]  # adopted, not started again
    assert (await world.workspace(ws_id))["status"] == "available"
    os.kill(pid, signal.SIGKILL)
    await world.until(settings, second, ws_id, lambda w: w["status"] == "pending")
    await world.available(settings, second, ws_id)
    (again,) = standins(data_dir)
    assert again != pid
    await world.patch(ws_id, "deactivated")
    await world.until(settings, second, ws_id, lambda w: w["status"] == "deactivated")
    assert not standins(data_dir)


async def test_stopped_by_a_process_that_does_not_supervise_it(
    world: World, settings: Settings, data_dir: Path
) -> None:
    ws_id = await _new(world)
    first, second = local(world.app), local(world.app)
    await world.available(settings, first, ws_id)
    await world.patch(ws_id, "deactivated")
    await world.until(settings, second, ws_id, lambda w: w["status"] == "deactivated")
    assert not standins(data_dir)
    for _ in range(3):  # the supervisor's next passes neither restart nor keep the lock
        await reconcile_once(world.app.state.sessionmaker, settings, first)
    assert not standins(data_dir)
    assert isinstance(first.managed, LocalProvisioner)
    assert not first.managed._supervisors


async def test_a_replaced_enrollment_key_restarts_the_server(
    world: World, settings: Settings, data_dir: Path
) -> None:
    ws_id = await _new(world)
    provs = local(world.app)
    url = await world.available(settings, provs, ws_id)
    before = httpx.get(f"{url}/api/v1/info").json()
    r = await world.client.post(f"/workspaces/{ws_id}/enrollment_key", headers=world.headers)
    assert r.status_code == 200, r.text
    for _ in range(40):
        await reconcile_once(world.app.state.sessionmaker, settings, provs)
        try:
            after = httpx.get(f"{url}/api/v1/info").json()
        except httpx.HTTPError:
            continue
        if after["pid"] != before["pid"]:
            break
        await asyncio.sleep(0.05)
    assert after["key_sha256"] != before["key_sha256"]
    async with world.app.state.sessionmaker() as db:
        assert await db.scalar(select(Workspace.enrollment_key_hash)) == after["key_sha256"]
    await world.patch(ws_id, "deactivated")
    await world.until(settings, provs, ws_id, lambda w: w["status"] == "deactivated")


async def test_delete_stops_then_removes_after_the_grace_period(
    world: World, settings: Settings, data_dir: Path
) -> None:
    ws_id = await _new(world)
    provs = local(world.app)
    url = await world.available(settings, provs, ws_id)
    r = await world.client.delete(f"/workspaces/{ws_id}", headers=world.headers)
    assert r.status_code == 200, r.text
    await reconcile_once(world.app.state.sessionmaker, settings, provs)
    assert not standins(data_dir)
    assert not port_open(int(url.rsplit(":", 1)[1]))
    root = ServerDir.of(settings, uuid.UUID(ws_id)).root
    assert root.is_dir()  # kept for the grace period
    await asyncio.sleep(settings.local_delete_grace_seconds)
    await reconcile_once(world.app.state.sessionmaker, settings, provs)
    assert not root.exists()


async def test_a_vanished_workspace_is_stopped_and_removed_but_not_a_foreign_one(
    world: World, settings: Settings, data_dir: Path
) -> None:
    ws_id = await _new(world)
    provs = local(world.app)
    await world.available(settings, provs, ws_id)
    foreign = data_dir / "servers" / "0b7c6a55-5f4e-4b8e-9d0e-3c1f2a6b7c8d"
    foreign.mkdir(parents=True)
    (foreign / "workspace.json").write_text('{"database": "another-zenpro"}')
    org_id = (await world.workspace(ws_id))["organization"]["id"]
    r = await world.client.delete(
        f"/organizations/{org_id}", params={"force": "true"}, headers=world.headers
    )
    assert r.status_code == 200, r.text
    await reconcile_once(world.app.state.sessionmaker, settings, provs)
    assert not standins(data_dir)
    await asyncio.sleep(settings.local_delete_grace_seconds)
    await reconcile_once(world.app.state.sessionmaker, settings, provs)
    assert not ServerDir.of(settings, uuid.UUID(ws_id)).root.exists()
    assert foreign.is_dir()


async def test_the_number_of_local_servers_is_limited(
    app: FastAPI, database_url: str, world: World, data_dir: Path
) -> None:
    overrides = {
        "workspace_provisioner": "local",
        "local_max_servers": 1,
        "local_data_dir": str(data_dir),
    }
    async with other_app(database_url, **overrides) as c:
        h = world.headers
        org = await create_org_via_api(c, h, "acme")
        first = await create_ws_via_api(c, h, org["id"], "one")
        body = {"name": "two", "organization_id": org["id"]}
        r = await c.post("/workspaces", json=body, headers=h)
        assert r.status_code == 409, r.text
        assert r.json()["code"] == "local_server_limit"
        assert "ZENPRO_LOCAL_MAX_SERVERS" in r.json()["detail"][1]
        # enrolled workspaces run elsewhere: not counted
        r = await c.post("/workspaces", params={"enroll": "true"}, json=body, headers=h)
        assert r.status_code == 201, r.text
        r = await c.patch(
            f"/workspaces/{first['id']}", json={"desired_state": "deactivated"}, headers=h
        )
        assert r.status_code == 200, r.text
        await reconcile_once(app.state.sessionmaker, app.state.settings)  # → deactivated
        second = await create_ws_via_api(c, h, org["id"], "three")
        r = await c.patch(
            f"/workspaces/{first['id']}", json={"desired_state": "available"}, headers=h
        )
        assert r.status_code == 409, r.text
        assert r.json()["code"] == "local_server_limit"
        await c.delete(f"/workspaces/{second['id']}", headers=h)
        r = await c.patch(
            f"/workspaces/{first['id']}", json={"desired_state": "available"}, headers=h
        )
        assert r.status_code == 200, r.text


async def test_the_limit_is_documented(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    for path, method in (("/workspaces", "post"), ("/workspaces/{workspace_id}", "patch")):
        op = doc["paths"][path][method]
        assert "409" in op["responses"]
        assert "local_server_limit" in op["description"]


async def test_external_provisioner_enrolls_every_workspace(
    database_url: str, world: World
) -> None:
    async with other_app(database_url, workspace_provisioner="external") as c:
        org = await create_org_via_api(c, world.headers, "acme")
        ws = await create_ws_via_api(c, world.headers, org["id"], "elsewhere")
    assert ws["is_managed"] is False
    assert ws["enrollment_key"].startswith("zpe_")


def test_invalid_local_settings_are_refused() -> None:
    url = "sqlite+aiosqlite:///:memory:"
    with pytest.raises(ValidationError, match="ZENPRO_ZENML_VERSION must be a ZenML release"):
        make_settings(url, workspace_provisioner="local", zenml_version="0.98.0; rm -rf /")
    with pytest.raises(ValidationError, match="BACKOFF_MAX_SECONDS must not be below"):
        make_settings(
            url,
            workspace_provisioner="local",
            local_restart_backoff_seconds=10,
            local_restart_backoff_max_seconds=1,
        )
    with pytest.raises(ValidationError):
        make_settings(url, workspace_provisioner="kubernetes")
    # only the local provisioner installs the version: elsewhere it is only reported
    assert make_settings(url, zenml_version="custom-build").zenml_version == "custom-build"
    s = make_settings(url, workspace_provisioner="local", local_data_dir="d")
    assert s.local_venv == Path("d/venvs/zenml-0.98.0").absolute()


def test_backoff_doubles_up_to_its_maximum() -> None:
    policy = RestartPolicy(backoff=2, backoff_max=60, max_failures=9)
    assert [policy.delay(n) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]


def test_the_lock_is_exclusive_and_not_inherited(tmp_path: Path) -> None:
    path = tmp_path / "supervisor.lock"
    held = Lock.try_acquire(path)
    assert held is not None
    assert Lock.try_acquire(path) is None  # another open file description: refused
    code = (
        "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR);"
        "fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)"
    )
    busy = subprocess.run([sys.executable, "-c", code, str(path)], check=False)
    assert busy.returncode != 0  # another process: refused too
    held.release()
    again = Lock.try_acquire(path)
    assert again is not None
    again.release()


def test_logs_rotate_and_the_tail_reaches_back(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("".join(f"line {i}\n" for i in range(1000)))
    assert rotate(log, max_bytes=100, backups=2)
    assert log.stat().st_size == 0
    assert tail(log, 3) == "line 997\nline 998\nline 999"
    with log.open("a") as f:
        f.write("after\n")
    assert tail(log, 2) == "line 999\nafter"
    assert rotate(log, max_bytes=1, backups=2)
    assert rotate(log, max_bytes=1, backups=2) is False  # empty: nothing to rotate
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "server.log",
        "server.log.1",
        "server.log.2",
    ]
    assert not rotate(tmp_path / "missing.log")


async def test_a_virtualenv_that_does_not_fit_fails_with_the_reason(tmp_path: Path) -> None:
    url = "sqlite+aiosqlite:///:memory:"
    other = tmp_path / "not-a-venv"
    other.mkdir()
    (other / "README").write_text("mine")
    s = make_settings(url, workspace_provisioner="local", local_zenml_venv=str(other))
    outcome = await Venv().check(s)
    assert outcome is not None
    assert outcome.status == "failed"
    assert "exists but is not a virtualenv" in outcome.reason
    assert (other / "README").read_text() == "mine"  # never touched
    fake = tmp_path / "venv"
    (fake / "bin").mkdir(parents=True)
    (fake / "bin" / "python").symlink_to(sys.executable)  # a Python without zenml
    s = make_settings(url, workspace_provisioner="local", local_zenml_venv=str(fake))
    outcome = await Venv().check(s)
    assert outcome is not None
    assert outcome.status == "failed"
    assert "has zenml (none) but ZENPRO_ZENML_VERSION is 0.98.0" in outcome.reason


async def test_a_missing_virtualenv_is_built_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build's steps (venv, pip, zenml[server]==version), its marker and its failure
    report; pip itself is not run here (the compat suite uses a ready virtualenv)."""
    calls: list[list[str]] = []
    fail = {"on": ""}

    async def fake_output(*argv: str, seconds: float = 60.0) -> tuple[int, str]:
        calls.append(list(argv))
        if argv[1:3] == ("-m", "venv"):
            (Path(argv[3]) / "bin").mkdir(parents=True, exist_ok=True)
            (Path(argv[3]) / "bin" / "python").symlink_to(sys.executable)
        if fail["on"] and fail["on"] in " ".join(argv):
            return 1, "ERROR: No matching distribution found for zenml[server]==0.98.0"
        return 0, "ok"

    monkeypatch.setattr(server, "_output", fake_output)
    venv = tmp_path / "venvs" / "zenml-0.98.0"
    await server.build_venv(venv, "0.98.0")
    assert [c[1:3] for c in calls] == [["-m", "venv"], ["-m", "pip"], ["-m", "pip"]]
    assert calls[2][-1] == "zenml[server]==0.98.0"
    assert not (venv / server.BUILDING).exists()
    calls.clear()
    await server.build_venv(venv, "0.98.0")  # there already: nothing to do
    assert calls == []
    broken = tmp_path / "venvs" / "zenml-0.99.0"
    fail["on"] = "zenml[server]"
    with pytest.raises(RuntimeError, match="No matching distribution"):
        await server.build_venv(broken, "0.99.0")
    assert (broken / server.BUILDING).exists()  # half-built: started over next time
    s = make_settings(
        "sqlite+aiosqlite:///:memory:",
        workspace_provisioner="local",
        local_zenml_venv=str(broken),
        zenml_version="0.99.0",
    )
    venvs = Venv()
    first = await venvs.check(s)
    assert first is not None
    assert first.status == "pending"
    assert "Installing zenml[server]==0.99.0" in first.reason
    for _ in range(100):
        outcome = await venvs.check(s)
        if outcome is None or outcome.status != "pending":
            break
        await asyncio.sleep(0.01)
    assert outcome is not None
    assert outcome.status == "failed"
    assert "No matching distribution" in outcome.reason
