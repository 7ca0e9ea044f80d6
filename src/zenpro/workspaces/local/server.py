"""The ZenML side of the local provisioner: the virtualenv it runs from, the command and
environment of one unmodified Pro-mode server (spec §9; e2e-recipe §3.2), and the probe.

The virtualenv (``ZENPRO_LOCAL_ZENML_VENV``) is used as it is when it has ``uvicorn`` and
the right ``zenml``; when the directory is missing it is created once with
``zenml[server]==<ZENPRO_ZENML_VERSION>`` (minutes; the workspaces wait ``pending``), under a
lock so that several zenpro processes build it once. A directory that is there but is not
such a virtualenv is never touched: the workspaces fail and say why.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from zenpro.config import Settings
from zenpro.workspaces.lifecycle import Outcome
from zenpro.workspaces.local.files import Lock, ServerDir, tail
from zenpro.workspaces.pro_env import pro_server_env
from zenpro.workspaces.schemas import Status

log = logging.getLogger("zenpro.workspaces.local")
APP = "zenml.zen_server.zen_server_api:app"
BUILDING = ".zenpro-building"  # inside a virtualenv zenpro is still installing
INSTALL_TIMEOUT = 1800.0
PROBE_TIMEOUT = 2.0


def server_argv(venv: Path, port: int) -> list[str]:
    """uvicorn in the virtualenv, one process, on 127.0.0.1 only. No access log: the log
    is for what goes wrong (and the probe would fill it)."""
    return [
        str(venv / "bin" / "python"),
        *("-m", "uvicorn", APP, "--host", "127.0.0.1", "--port", str(port)),
        *("--workers", "1", "--no-access-log", "--no-server-header"),
    ]


def server_env(
    settings: Settings,
    dirs: ServerDir,
    port: int,
    pro: dict[str, str],
) -> dict[str, str]:
    """The server's whole environment, built from nothing: no ``ZENPRO_`` setting (the
    database URL and its password) of this process reaches it. ``pro`` is the
    ``ZENML_SERVER_PRO_*`` block, the client secret among them."""
    venv = settings.local_venv
    return {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(dirs.root),
        "LANG": "C.UTF-8",
        "ZENML_SERVER": "true",
        "ZENML_CONFIG_PATH": str(dirs.zenml_config),  # its SQLite database lives under it
        "ZENML_ANALYTICS_OPT_IN": "false",
        "ZENML_LOGGING_COLORS_DISABLED": "true",
        "ZENML_SERVER_DEPLOYMENT_TYPE": "cloud",
        "ZENML_SERVER_SERVER_URL": f"http://127.0.0.1:{port}",
        "ZENML_SERVER_JWT_SECRET_KEY": dirs.jwt_key(),
        **pro,
    }


def pro_env_for(settings: Settings, **workspace: str) -> dict[str, str]:
    """The Pro block a local server gets: zenpro's own URL as the API (byte-identical to
    what ``zenml login --pro-api-url`` is given) and its console as the dashboard."""
    return pro_server_env(
        api_url=settings.base_url, dashboard_url=f"{settings.base_url}/console", **workspace
    )


async def probe(port: int, workspace_id: str) -> dict[str, Any] | None:
    """``GET /api/v1/info``: the server's info when it answers as this workspace."""
    try:
        async with httpx.AsyncClient(timeout=PROBE_TIMEOUT) as client:
            r = await client.get(f"http://127.0.0.1:{port}/api/v1/info")
        info = r.json() if r.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
    if isinstance(info, dict) and str(info.get("id")) == workspace_id:
        return info
    return None


async def _output(*argv: str, seconds: float = 60.0) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), seconds)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return -1, f"timed out after {seconds:g} s"
    return proc.returncode or 0, out.decode("utf-8", "replace")


async def installed_version(venv: Path) -> str | None:
    code, out = await _output(
        str(venv / "bin" / "python"),
        "-c",
        "import importlib.metadata as m; print(m.version('zenml'))",
    )
    return out.strip() if code == 0 else None


class Venv:
    """The virtualenv of one zenpro process' local servers: checked once, built once."""

    def __init__(self) -> None:
        self._ready: set[tuple[Path, str]] = set()
        self._build: asyncio.Task[None] | None = None

    async def check(self, settings: Settings) -> Outcome | None:
        """None when servers can start; else pending (being built) or failed (why)."""
        venv, version = settings.local_venv, settings.zenml_version
        if (venv, version) in self._ready:
            return None
        if (venv / "bin" / "python").exists() and not (venv / BUILDING).exists():
            return await self._verify(venv, version)
        if venv.exists() and not (venv / BUILDING).exists() and any(venv.iterdir()):
            return Outcome(
                Status.failed,
                reason=f"ZENPRO_LOCAL_ZENML_VENV={venv} exists but is not a virtualenv: "
                f"install zenml[server]=={version} into it, or name another directory",
            )
        return self._building(venv, version)

    async def _verify(self, venv: Path, version: str) -> Outcome | None:
        found = await installed_version(venv)
        if found == version and (venv / "bin" / "uvicorn").exists():
            self._ready.add((venv, version))
            return None
        return Outcome(
            Status.failed,
            reason=f"The virtualenv {venv} has zenml {found or '(none)'} but "
            f"ZENPRO_ZENML_VERSION is {version}: run `{venv}/bin/pip install "
            f"'zenml[server]=={version}'`, or point ZENPRO_LOCAL_ZENML_VENV elsewhere",
        )

    def _building(self, venv: Path, version: str) -> Outcome | None:
        task = self._build
        if task is None:
            self._build = asyncio.create_task(build_venv(venv, version), name="zenml-venv")
        elif task.done():
            self._build = None
            error = task.exception()
            if error is None:
                return None
            return Outcome(Status.failed, reason=str(error)[:1024])
        return Outcome(
            Status.pending,
            reason=f"Installing zenml[server]=={version} into {venv} (once; a few minutes)",
        )


def _start_afresh(venv: Path) -> None:
    """An empty directory marked as being built (a half-built one is started over)."""
    shutil.rmtree(venv, ignore_errors=True)
    venv.mkdir()
    (venv / BUILDING).touch()


async def build_venv(venv: Path, version: str) -> None:
    """Create ``venv`` with ``zenml[server]==version`` (pip's output in ``<venv>.log``), or
    wait while another zenpro process does. Raises with the end of pip's output."""
    venv.parent.mkdir(parents=True, exist_ok=True)
    lock_path = venv.with_name(venv.name + ".lock")
    lock = Lock.try_acquire(lock_path)
    while lock is None:  # another process builds it: wait for it
        await asyncio.sleep(1.0)
        lock = Lock.try_acquire(lock_path)
    try:
        if (venv / "bin" / "python").exists() and not (venv / BUILDING).exists():
            return
        _start_afresh(venv)
        logfile = venv.with_name(venv.name + ".log")
        started = time.monotonic()
        log.info("installing zenml[server]==%s into %s", version, venv)
        steps = [
            [sys.executable, "-m", "venv", str(venv)],
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--upgrade", "pip"],
            [str(venv / "bin" / "python"), "-m", "pip", "install", f"zenml[server]=={version}"],
        ]
        for argv in steps:
            code, out = await _output(*argv, seconds=INSTALL_TIMEOUT)
            with logfile.open("a") as f:
                f.write(f"$ {' '.join(argv)}\n{out}\n")
            if code != 0:
                raise RuntimeError(
                    f"Installing zenml[server]=={version} into {venv} failed "
                    f"(see {logfile}):\n{tail(logfile, 12)}"
                )
        (venv / BUILDING).unlink()
        log.info("installed zenml %s in %.0f s", version, time.monotonic() - started)
    finally:
        lock.release()  # the file stays: unlinking a lock file races with its next taker


class ZenMLRuntime:
    """What the provisioner runs: ZenML from the virtualenv. The supervision tests swap in
    a stand-in server (same environment, same probe) to run without ZenML."""

    def __init__(self) -> None:
        self._venv = Venv()

    async def check(self, settings: Settings) -> Outcome | None:
        return await self._venv.check(settings)

    def argv(self, settings: Settings, port: int) -> list[str]:
        return server_argv(settings.local_venv, port)

    async def probe(self, port: int, workspace_id: str) -> dict[str, Any] | None:
        return await probe(port, workspace_id)
