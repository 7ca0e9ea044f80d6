"""Real processes for the reliability tests: a throwaway PostgreSQL cluster of our own
(so restarting it disturbs no one) and ``zenpro serve`` subprocesses."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.services import required
from tests.support.processes import ZenproServer, free_port, zenpro_serve

PG_BIN = Path("/usr/lib/postgresql/15/bin")
ADMIN_PASSWORD = "reliability-admin-pw"


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


RELIABILITY_SETTINGS = {
    "ZENPRO_ENV": "test",
    "ZENPRO_RATELIMIT_ENABLED": "false",
    "ZENPRO_RECONCILER_ENABLED": "false",
    "ZENPRO_LOG_LEVEL": "WARNING",
    "ZENPRO_LOG_FORMAT": "text",
}


def logged_in_server(
    database_url: str | None = None, **settings: str
) -> AbstractContextManager[ZenproServer]:
    """``zenpro serve --migrate`` on a free port (a SQLite file of its own unless
    ``database_url``), logged in as the first admin; ``settings`` override ours."""
    return zenpro_serve(
        database_url=database_url,
        env={**RELIABILITY_SETTINGS, **settings},
        admin_password=ADMIN_PASSWORD,
        login=True,
        stop_timeout=40,
    )
