"""Running Alembic from zenpro itself: locate the scripts, upgrade under a lock, read heads."""

from __future__ import annotations

import asyncio
import fcntl
import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from zenpro.kit.db import make_engine

# Any 64-bit number, fixed: every zenpro instance takes the same advisory lock.
_PG_LOCK_KEY = 0x7A656E70726F


def project_root() -> Path:
    env = os.environ.get("ZENPRO_HOME")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "alembic.ini").exists() and (parent / "migrations").is_dir():
            return parent
    return Path.cwd()


def alembic_config(url: str) -> Config:
    root = project_root()
    cfg = Config(str(root / "alembic.ini"))
    cfg.set_main_option("script_location", str(root / "migrations"))
    cfg.attributes["database_url"] = url
    return cfg


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def _upgrade(connection: Connection, cfg: Config) -> None:
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_current)
    finally:
        await engine.dispose()


async def upgrade(url: str) -> None:
    """Upgrade to head. Safe when several instances start at once: PostgreSQL takes an
    advisory lock, SQLite a file lock beside the database."""
    cfg = alembic_config(url)
    if url.startswith("sqlite"):
        db_path = url.split(":///", 1)[1]
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        fd = await asyncio.to_thread(_file_lock, Path(f"{db_path}.migrate.lock"))
        try:
            await _run_upgrade(url, cfg)
        finally:
            os.close(fd)  # closing releases the lock
        return
    await _run_upgrade(url, cfg, pg_lock=True)


def _file_lock(path: Path) -> int:
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


async def _run_upgrade(url: str, cfg: Config, pg_lock: bool = False) -> None:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            if pg_lock:
                await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
                await conn.commit()
            try:
                await conn.run_sync(_upgrade, cfg)
                await conn.commit()
            finally:
                if pg_lock:
                    await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
                    await conn.commit()
    finally:
        await engine.dispose()


def upgrade_sync(url: str) -> None:
    asyncio.run(upgrade(url))
