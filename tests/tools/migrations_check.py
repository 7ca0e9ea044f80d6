"""`alembic check` and an upgrade → downgrade → upgrade round trip, on SQLite and, when
reachable, PostgreSQL (required when ZENPRO_REQUIRE_SERVICES=1)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from alembic import command

from tests.fixtures import db as dbfix
from tests.fixtures.services import postgres_up, required
from zenpro.kit.migrate import alembic_config


def _roundtrip(url: str) -> None:
    cfg = alembic_config(url)
    command.upgrade(cfg, "head")
    command.check(cfg)
    command.downgrade(cfg, "base")
    command.upgrade(cfg, "head")
    command.check(cfg)


async def _pg_url() -> str:
    return await dbfix.fresh_postgres(suffix="_migrations")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        _roundtrip(f"sqlite+aiosqlite:///{Path(tmp) / 'check.db'}")
        sys.stdout.write("migrations: SQLite ok (check, up/down/up)\n")
    if postgres_up():
        _roundtrip(asyncio.run(_pg_url()))
        sys.stdout.write("migrations: PostgreSQL ok (check, up/down/up)\n")
    elif required():
        sys.stderr.write("PostgreSQL unreachable and ZENPRO_REQUIRE_SERVICES=1\n")
        return 1
    else:
        sys.stdout.write("migrations: PostgreSQL skipped (unreachable)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
