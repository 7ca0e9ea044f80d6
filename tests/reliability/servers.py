"""Real processes for the reliability tests: a throwaway PostgreSQL cluster of our own
(so restarting it disturbs no one) and ``zenpro serve`` subprocesses."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.fixtures.services import required

PG_BIN = Path("/usr/lib/postgresql/15/bin")
ROOT = Path(__file__).resolve().parents[2]
ZENPRO = ROOT / ".venv" / "bin" / "zenpro"
ADMIN_PASSWORD = "reliability-admin-pw"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb refuses to run as root.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class OwnPostgres:
    """A private PostgreSQL cluster: start, stop (fast or immediate) and restart at will."""

    dir: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def ctl(self, *args: str) -> None:
        cmd = [str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-w", *args]
        subprocess.run(_as_postgres(cmd), check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=on"
        self.ctl("-o", opts, "-l", str(self.dir / "log"), "start")

    def stop(self, mode: str = "fast") -> None:
        self.ctl("-m", mode, "stop")


@contextmanager
def own_postgres() -> Iterator[OwnPostgres]:
    if not (PG_BIN / "initdb").exists() or shutil.which("runuser") is None:
        msg = "PostgreSQL 15 binaries (and runuser) are needed for these tests"
        if required():
            pytest.fail(f"{msg}, and ZENPRO_REQUIRE_SERVICES=1")
        pytest.skip(msg)
    tmp = Path(tempfile.mkdtemp(prefix="zenpro-pg-"))
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres", "postgres")
    pg = OwnPostgres(tmp, free_port())
    cmd = [str(PG_BIN / "initdb"), "-D", str(tmp / "data"), "-U", "postgres", "-A", "trust"]
    subprocess.run(_as_postgres(cmd), check=True, capture_output=True, timeout=120)
    pg.start()
    try:
        yield pg
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already down
            pg.stop("immediate")
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    token: str = ""
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def _wait_ready(server: Server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise AssertionError(f"zenpro exited early:\n{server.output()}")
        try:
            if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"zenpro did not start:\n{server.output()}")


@contextmanager
def zenpro_serve(database_url: str, **env: str) -> Iterator[Server]:
    """``zenpro serve --migrate`` on a free port, logged in as the first admin."""
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="zenpro-serve-", suffix=".log")[1])
    full_env = {
        **os.environ,
        "ZENPRO_ENV": "test",
        "ZENPRO_DATABASE_URL": database_url,
        "ZENPRO_BASE_URL": f"http://127.0.0.1:{port}",
        "ZENPRO_RATELIMIT_ENABLED": "false",
        "ZENPRO_RECONCILER_ENABLED": "false",
        "ZENPRO_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ZENPRO_LOG_LEVEL": "WARNING",
        "ZENPRO_LOG_FORMAT": "text",
        **env,
    }
    cmd = [str(ZENPRO), "serve", "--migrate", "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=full_env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    server = Server(proc, port, log, env=full_env)
    try:
        _wait_ready(server)
        r = httpx.post(
            f"{server.url}/auth/login",
            data={"username": "admin", "password": ADMIN_PASSWORD},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        server.token = r.json()["access_token"]
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        keep = os.environ.get("ZENPRO_KEEP_SERVER_LOG")
        if keep:
            shutil.copy(log, keep)
        log.unlink(missing_ok=True)
