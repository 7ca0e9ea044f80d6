"""Real processes for the tests, and ``zenpro serve`` built from them.

The primitives: a free port on 127.0.0.1, a process started with its own environment and a
log file, waiting until an HTTP URL answers (the process' log in the error when it does not),
and stopping it by its pid: SIGTERM, then SIGKILL after a timeout. A process started in its
own session (``new_session=True``: no controlling terminal, Ctrl-C of the test run does not
reach it) is killed together with its process group, so nothing it forked outlives it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
ADMIN_USERNAME = "admin"  # the first admin ``zenpro serve`` creates from ZENPRO_ADMIN_PASSWORD
KEEP_LOG_ENV = "ZENPRO_KEEP_SERVER_LOG"  # copy each zenpro server's log there on exit


class NotReady(RuntimeError):
    """A process exited, or did not answer, before it was ready; the message has its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port``."""
    with socket.socket() as s:
        s.settimeout(timeout)
        return s.connect_ex(("127.0.0.1", port)) == 0


def live_processes() -> Iterator[tuple[int, list[bytes], Path | None]]:
    """Every process visible in /proc: its pid, argv and working directory (None when it
    cannot be read); processes that end while being read are left out."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        try:
            cwd: Path | None = (entry / "cwd").resolve()
        except OSError:
            cwd = None
        yield int(entry.name), argv, cwd


def base_env(home: Path, bin_dir: Path = VENV_BIN) -> dict[str, str]:
    """A minimal environment: nothing of the developer's shell (no ``ZENPRO_``/``ZENML_``
    variable) leaks into a process started with it."""
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}


def log_tail(log: Path | None, chars: int = 4000) -> str:
    if log is None:
        return "(no log)"
    try:
        return log.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


def start(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    log: Path | None,
    new_session: bool = False,
) -> subprocess.Popen[bytes]:
    """Start ``cmd`` with stdout and stderr in ``log`` (discarded when None), no stdin."""
    with log.open("wb") if log is not None else open(os.devnull, "wb") as out:
        return subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
        )


def below_500(status: int) -> bool:
    return status < 500


def wait_http(
    url: str,
    proc: subprocess.Popen[bytes],
    *,
    timeout: float,
    what: str,
    log: Path | None = None,
    ready: Callable[[int], bool] = below_500,
) -> None:
    """Poll ``url`` until its status is ``ready``; raise NotReady if ``proc`` exits first or
    ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise NotReady(f"{what} exited with {proc.returncode} on start:\n{log_tail(log)}")
        try:
            if ready(httpx.get(url, timeout=2).status_code):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise NotReady(f"{what} did not answer {url} within {timeout:.0f} s:\n{log_tail(log)}")


def _leads_own_group(proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> bool:
    try:
        return os.getpgid(proc.pid) == proc.pid
    except ProcessLookupError:
        return False


def stop(proc: subprocess.Popen[bytes] | subprocess.Popen[str], timeout: float = 10.0) -> None:
    """Stop one process we started, by its pid: SIGTERM, then SIGKILL after ``timeout``
    seconds (its whole process group when it was started in its own session)."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        if _leads_own_group(proc):
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
        proc.wait(5)


@contextmanager
def running(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    log: Path | None,
    ready_url: str,
    what: str,
    ready_timeout: float = 60.0,
    ready: Callable[[int], bool] = below_500,
    new_session: bool = False,
    stop_timeout: float = 10.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """``start`` then ``wait_http``; the process is stopped on the way out, whatever happens."""
    proc = start(cmd, env=env, cwd=cwd, log=log, new_session=new_session)
    try:
        wait_http(ready_url, proc, timeout=ready_timeout, what=what, log=log, ready=ready)
        yield proc
    finally:
        stop(proc, stop_timeout)


def zenpro_command() -> list[str]:
    script = VENV_BIN / "zenpro"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "zenpro.cli"]


@dataclass
class ZenproServer:
    """A running ``zenpro serve``; ``token`` is the first admin's when it was logged in."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    env: dict[str, str]
    db_path: Path | None = None
    admin_password: str | None = None
    token: str = ""
    admin_username: str = ADMIN_USERNAME

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def admin_token(self) -> str:
        """A fresh login of the first admin (password grant): its access token."""
        r = httpx.post(
            f"{self.url}/auth/login",
            data={"username": self.admin_username, "password": self.admin_password},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def output(self) -> str:
        """The end of the server's log (for assertion messages)."""
        return log_tail(self.log)

    def log_text(self) -> str:
        return self.log.read_text("utf-8", "replace")

    def db_bytes(self) -> bytes:
        """Every byte of its SQLite database files (main, WAL, shared memory, journal)."""
        assert self.db_path is not None, "not on a SQLite file of its own"
        data = b""
        for suffix in ("", "-wal", "-shm", "-journal"):
            p = Path(f"{self.db_path}{suffix}")
            if p.exists():
                data += p.read_bytes()
        return data


@contextmanager
def _workdir(given: Path | None) -> Iterator[Path]:
    if given is not None:
        yield given
        return
    tmp = Path(tempfile.mkdtemp(prefix="zenpro-serve-"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _keep_log(log: Path) -> None:
    keep = os.environ.get(KEEP_LOG_ENV)
    if keep and log.exists():
        shutil.copy(log, keep)


@contextmanager
def zenpro_serve(
    workdir: Path | None = None,
    *,
    database_url: str | None = None,
    env: Mapping[str, str] | None = None,
    admin_password: str | None = None,
    migrate: bool = True,
    login: bool = False,
    workers: int | None = None,
    new_session: bool = False,
    ready_timeout: float = 60.0,
    stop_timeout: float = 10.0,
) -> Iterator[ZenproServer]:
    """``zenpro serve`` on a free port of 127.0.0.1, ready once ``/health`` answers 200.

    It runs in ``workdir`` (a temporary directory, removed afterwards, when None) with a
    minimal environment, its log in ``workdir/zenpro.log``. ``database_url`` defaults to a
    SQLite file in ``workdir``; ``env`` (``ZENPRO_`` settings) is applied last and wins.
    ``admin_password`` has the first admin created; ``login=True`` logs in as that admin and
    keeps the token. ``migrate=False`` serves an already migrated database as it is.
    """
    if login and admin_password is None:
        raise ValueError("login=True needs an admin_password")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with _workdir(workdir) as home:
        db_path = home / "zenpro.db" if database_url is None else None
        full_env = {
            **base_env(home),
            "ZENPRO_HOME": str(ROOT),
            "ZENPRO_DATABASE_URL": database_url or f"sqlite+aiosqlite:///{db_path}",
            "ZENPRO_BASE_URL": url,
            **({"ZENPRO_ADMIN_PASSWORD": admin_password} if admin_password else {}),
            **(env or {}),
        }
        cmd = [*zenpro_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
        cmd += ["--migrate"] if migrate else []
        cmd += ["--workers", str(workers)] if workers else []
        log = home / "zenpro.log"
        try:
            with running(
                cmd,
                env=full_env,
                cwd=home,
                log=log,
                ready_url=f"{url}/health",
                what="zenpro serve",
                ready_timeout=ready_timeout,
                ready=lambda status: status == 200,
                new_session=new_session,
                stop_timeout=stop_timeout,
            ) as proc:
                server = ZenproServer(proc, port, log, full_env, db_path, admin_password)
                if login:
                    server.token = server.admin_token()
                yield server
        finally:
            _keep_log(log)
