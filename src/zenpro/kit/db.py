"""Engine, sessions and the declarative base.

The request owns the transaction: ``get_db`` yields a session and commits before the
response is sent; services and repositories only flush.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, TypeDecorator, Uuid, event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import ConnectionPoolEntry

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), uuid.UUID: Uuid()}


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class TimestampMixin:
    created: Mapped[datetime] = mapped_column(default=utcnow)
    updated: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def apply_changes(row: object, changes: dict[str, Any], *, required: tuple[str, ...] = ()) -> None:
    """Set each field of a partial update on ``row``; a ``None`` for a ``required`` field
    (one that cannot be emptied, like a name) leaves it as it is."""
    for field, value in changes.items():
        if value is None and field in required:
            continue
        setattr(row, field, value)


def _sqlite_pragmas(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
    # Transactions are begun by us (see _sqlite_begin), not by the driver.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock up front: a deferred transaction that reads and then
    # writes can fail with "database is locked" instead of waiting for busy_timeout.
    # Autocommit reads (the cache epoch check) need no transaction and no lock at all.
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, pool_size: int = 10, pool_timeout: float = 5.0) -> AsyncEngine:
    """An async engine with the pragmas/pool settings zenpro relies on."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 10})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    # No overflow: overflow connections are closed when returned, and opening PostgreSQL
    # connections under load costs more than waiting for a pooled one. No pre-ping: it
    # adds a round trip to every request; a dead connection instead fails that request
    # with a 503 and is dropped from the pool (see the DB error handlers in main.py).
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=pool_timeout,
        pool_recycle=1800,
    )


def make_sessionmaker(
    engine: AsyncEngine, cache: object | None = None
) -> async_sessionmaker[AsyncSession]:
    """Sessions for one app; ``cache`` (an ``EpochCache``) rides along in ``session.info``."""
    info = {"cache": cache} if cache is not None else {}
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False, info=info)


async def session_scope(
    maker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """Yield a session; commit on success, roll back on error."""
    async with maker() as session:
        try:
            yield session
            if session.in_transaction():  # a request that never touched the DB costs nothing
                await session.commit()
        except BaseException:
            await session.rollback()
            raise
