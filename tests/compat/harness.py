"""Drive the real zenml 0.98.0 package against a real zenpro process.

Everything here runs as subprocesses on 127.0.0.1: zenpro (``zenpro serve --migrate``
on a temporary SQLite file), an unmodified ZenML server in Pro mode (plain uvicorn, env of
spec §9) and the ``zenml`` CLI, each with its own config dir. ZenML lives in its own
venv (``zenml[server]==0.98.0`` pins differ from ours): ``ZENPRO_ZENML_VENV`` points at a
ready one, otherwise ``.zenml-venv`` is built once (needs PyPI access).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.processes import (
    ROOT,
    ZenproServer,
    base_env,
    free_port,
    running,
    stop,
    zenpro_serve,
)
from zenpro.authz.vocabulary import ORG_MEMBER_ID, WORKSPACE_ADMIN_ID, WORKSPACE_VIEWER_ID

ZENML_SPEC = "zenml[server]==0.98.0"
JWT_SECRET = "0123456789abcdef" * 4
ADMIN_PASSWORD = "compat-admin-password-1"
USER_PASSWORD = "compat-user-password-1"


def zenml_venv() -> Path:
    """A venv with exactly ``zenml[server]==0.98.0``: reuse, or build it once."""
    given = os.environ.get("ZENPRO_ZENML_VENV")
    if given and (Path(given) / "bin" / "zenml").exists():
        return Path(given)
    target = ROOT / ".zenml-venv"
    stamp = target / ".installed"
    if stamp.exists():
        return target
    lock_path = Path(tempfile.gettempdir()) / "zenpro-zenml-venv.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder at a time (xdist, parallel runs)
        if not stamp.exists():
            shutil.rmtree(target, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(target)], check=True)
            pip = [str(target / "bin" / "python"), "-m", "pip", "install", "-q"]
            subprocess.run([*pip, "--upgrade", "pip"], check=True, timeout=600)
            subprocess.run([*pip, ZENML_SPEC], check=True, timeout=1800)
            stamp.touch()
    return target


COMPAT_SETTINGS = {
    "ZENPRO_ENV": "development",
    "ZENPRO_DEVICE_INTERVAL_SECONDS": "1",
    "ZENPRO_LOG_LEVEL": "DEBUG",
    "ZENPRO_RECONCILE_INTERVAL_SECONDS": "0.5",
}


def run_zenpro(
    workdir: Path, database_url: str | None = None, **env_extra: str
) -> AbstractContextManager[ZenproServer]:
    """``zenpro serve --migrate`` in ``workdir`` (a SQLite file there unless
    ``database_url``), in its own session, with the first admin's ADMIN_PASSWORD."""
    return zenpro_serve(
        workdir,
        database_url=database_url,
        env={**COMPAT_SETTINGS, **env_extra},
        admin_password=ADMIN_PASSWORD,
        new_session=True,
    )


@dataclass
class Workspace:
    id: str
    name: str
    org_id: str
    org_name: str
    enrollment_key: str


@contextmanager
def run_zenml_server(
    venv: Path, workdir: Path, cp_url: str, ws: Workspace, dashboard_url: str | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    """An unmodified ZenML server in Pro mode (spec §9, e2e-recipe §3.2). Its browser
    visits go to ``dashboard_url`` (zenpro's console: ``<zenpro>/console``); unset, to a
    port where nothing listens."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    home = workdir / "ws"
    home.mkdir(parents=True, exist_ok=True)
    env = {
        **base_env(home, venv / "bin"),
        "ZENML_SERVER": "true",
        "ZENML_CONFIG_PATH": str(home / "config"),
        "ZENML_ANALYTICS_OPT_IN": "false",
        "ZENML_SERVER_DEPLOYMENT_TYPE": "cloud",
        "ZENML_SERVER_SERVER_URL": url,
        "ZENML_SERVER_JWT_SECRET_KEY": JWT_SECRET,
        "ZENML_SERVER_PRO_API_URL": cp_url,
        "ZENML_SERVER_PRO_DASHBOARD_URL": dashboard_url or f"http://127.0.0.1:{free_port()}",
        "ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET": ws.enrollment_key,
        "ZENML_SERVER_PRO_OAUTH2_AUDIENCE": "zenml-workspaces",
        "ZENML_SERVER_PRO_ORGANIZATION_ID": ws.org_id,
        "ZENML_SERVER_PRO_ORGANIZATION_NAME": ws.org_name,
        "ZENML_SERVER_PRO_WORKSPACE_ID": ws.id,
        "ZENML_SERVER_PRO_WORKSPACE_NAME": ws.name,
    }
    log_path = workdir / "zenml-server.log"
    cmd = [
        *(str(venv / "bin" / "uvicorn"), "zenml.zen_server.zen_server_api:app"),
        *("--host", "127.0.0.1", "--port", str(port), "--workers", "1"),
    ]
    with running(
        cmd,
        env=env,
        cwd=home,
        log=log_path,
        ready_url=f"{url}/api/v1/info",
        what="the ZenML server",
        ready_timeout=180,
        new_session=True,
    ) as proc:
        yield url, proc, log_path


@dataclass
class Cli:
    """One ZenML client identity: its own config dir and HOME."""

    venv: Path
    home: Path
    cp_url: str
    outputs: list[str] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {
            **base_env(self.home, self.venv / "bin"),
            "TERM": "dumb",
            "COLUMNS": "200",
            "ZENML_CONFIG_PATH": str(self.home / "config"),
            "ZENML_ANALYTICS_OPT_IN": "false",
            "ZENML_PRO_API_URL": self.cp_url,
            "ZENML_PRO_URL": "http://127.0.0.1:9",
            "BROWSER": "true",
        }

    def run(self, *args: str, stdin: str | None = None, timeout: float = 120) -> tuple[int, str]:
        return self._run([str(self.venv / "bin" / "zenml"), *args], stdin, timeout)

    def python(self, code: str, *args: str, timeout: float = 120) -> tuple[int, str]:
        return self._run([str(self.venv / "bin" / "python"), "-c", code, *args], None, timeout)

    def script(self, name: str, source: str, timeout: float = 300) -> tuple[int, str]:
        """Write ``source`` to ``name`` in this client's home and run it as a file (ZenML
        resolves a step's source from its module file: a ``@pipeline`` cannot run from
        ``python -c``)."""
        (self.home / name).write_text(source)
        return self._run([str(self.venv / "bin" / "python"), name], None, timeout)

    def _run(self, argv: list[str], stdin: str | None, timeout: float) -> tuple[int, str]:
        proc = subprocess.run(
            argv,
            env=self.env,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,  # no controlling TTY: getpass reads stdin
            cwd=self.home,
        )
        out = proc.stdout + proc.stderr
        self.outputs.append(out)
        return proc.returncode, out

    def device_login(self, args: list[str], approve: Any, timeout: float = 120) -> tuple[int, str]:
        """Run ``zenml login …`` and call ``approve(user_code)`` once the CLI prints the
        verification URL (as a browser user would)."""
        proc = subprocess.Popen(
            [str(self.venv / "bin" / "zenml"), "login", *args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            cwd=self.home,
        )
        lines: list[str] = []
        found = threading.Event()
        code: list[str] = []

        def reader() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)
                m = re.search(r"user_code=([A-Z]{4}-[A-Z]{4})", "".join(lines[-3:]))
                if m and not code:
                    code.append(m.group(1))
                    found.set()

        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        try:
            if not found.wait(timeout):
                raise AssertionError("no verification URL printed:\n" + "".join(lines))
            approve(code[0])
            proc.wait(timeout)
        finally:
            stop(proc)
        thread.join(5)
        out = "".join(lines)
        self.outputs.append(out)
        return proc.returncode or 0, out


def sees_workspace(cli: Cli, workspace: str) -> None:
    """``cli`` (logged in) lists ``workspace`` among its servers and reads its stacks."""
    rc, out = cli.run("server", "list")
    assert rc == 0, out
    assert workspace in out, out
    rc, out = cli.run("stack", "list")
    assert rc == 0, out
    assert "default" in out, out


class Api:
    """zenpro's HTTP API as one user (Bearer) or a browser (cookie)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30)

    def login(self, username: str, password: str) -> Api:
        r = self.http.post("/auth/login", data={"username": username, "password": password})
        r.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        self.http.cookies.clear()
        return self

    def call(self, method: str, path: str, expect: int = 200, **kw: Any) -> Any:
        r = self.http.request(method, path, **kw)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json()

    def approve_device(self, username: str, password: str, user_code: str, ws_id: str) -> None:
        """The verification page, as a logged-in browser: /login, then approve."""
        browser = httpx.Client(base_url=self.url, timeout=30, follow_redirects=False)
        page = f"/devices/verify?user_code={user_code}"
        r = browser.get(page)
        assert r.status_code == 303, r.text
        r = browser.post("/login", data={"username": username, "password": password, "next": page})
        assert r.status_code == 303, r.text
        assert r.headers["location"] == page, r.text
        r = browser.get(page)
        assert r.status_code == 200, r.text
        assert user_code in r.text, r.text
        r = browser.post(
            "/devices/verify",
            data={"user_code": user_code, "workspace_id": ws_id, "action": "approve"},
            headers={"Origin": self.url},
        )
        assert r.status_code == 200, r.text
        assert "approved" in r.text, r.text


def seed(admin: Api) -> tuple[Workspace, dict[str, str], str]:
    """alice (Workspace Viewer) and bob (Workspace Admin) in organization acme, its enrolled
    workspace ws1, and service account ci-bot (Workspace Viewer) with a key."""
    ids: dict[str, str] = {}
    for name in ("alice", "bob"):
        user = admin.call(
            "POST",
            "/users",
            json={"username": name, "password": USER_PASSWORD, "email": f"{name}@example.com"},
            expect=201,
        )
        ids[name] = user["id"]
    org = admin.call("POST", "/organizations", json={"name": "acme"}, expect=201)
    ws = admin.call(
        "POST",
        "/workspaces?enroll=true",
        json={"name": "ws1", "organization_id": org["id"]},
        expect=201,
    )
    assert ws["enrollment_key"]
    sa = admin.call(
        "POST", f"/organizations/{org['id']}/service_accounts", json={"name": "ci-bot"}, expect=201
    )
    ids["ci-bot"] = sa["id"]
    key = admin.call(
        "POST",
        f"/organizations/{org['id']}/service_accounts/ci-bot/api_keys",
        json={"name": "ci", "description": "compat", "expires_in_minutes": 120},
        expect=201,
    )["key"]
    for user, role in (
        ("alice", WORKSPACE_VIEWER_ID),
        ("bob", WORKSPACE_ADMIN_ID),
        ("ci-bot", WORKSPACE_VIEWER_ID),
    ):
        if user != "ci-bot":
            admin.call(
                "POST",
                f"/roles/{ORG_MEMBER_ID}/assignments",
                params={"user_id": ids[user], "organization_id": org["id"]},
                expect=201,
            )
        admin.call(
            "POST",
            f"/roles/{role}/assignments",
            params={"user_id": ids[user], "workspace_id": ws["id"]},
            expect=201,
        )
    workspace = Workspace(ws["id"], ws["name"], org["id"], org["name"], ws["enrollment_key"])
    return workspace, ids, key


@dataclass
class World:
    """zenpro seeded over HTTP (``seed``) and an unmodified ZenML server enrolled as ws1. The
    ZenML server and every CLI are given zenpro at ``api``: its root, or ``prefix`` below it."""

    cp: ZenproServer
    admin: Api
    ws: Workspace
    ws_url: str
    ws_log: Path
    venv: Path
    tmp: Path
    ids: dict[str, str]
    sa_key: str
    prefix: str = ""

    @property
    def api(self) -> str:
        return self.cp.url + self.prefix

    def cli(self, name: str) -> Cli:
        home = self.tmp / f"client-{name}"
        home.mkdir(exist_ok=True)
        return Cli(self.venv, home, self.api)


@contextmanager
def zenml_world(
    tmp: Path, prefix: str = "", *, console: bool = False, database_url: str | None = None
) -> Iterator[World]:
    """``console=True``: the ZenML server sends browsers to zenpro's console
    (``ZENML_SERVER_PRO_DASHBOARD_URL=<zenpro>/console``); ``database_url``: zenpro's
    database (default a SQLite file in ``tmp``)."""
    venv = zenml_venv()
    with run_zenpro(tmp, database_url) as cp:
        admin = Api(cp.url + prefix).login("admin", ADMIN_PASSWORD)
        ws, ids, key = seed(admin)
        dashboard = f"{cp.url}{prefix}/console" if console else None
        with run_zenml_server(venv, tmp, cp.url + prefix, ws, dashboard) as (
            ws_url,
            _proc,
            ws_log,
        ):
            yield World(cp, admin, ws, ws_url, ws_log, venv, tmp, ids, key, prefix)
