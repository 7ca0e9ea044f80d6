"""In-process caches that stay correct across instances: epoch counters in the database.

Two counters, ``auth`` (who a credential is) and ``grants`` (what anyone may do), live in
the ``cache_epochs`` table. Session events bump them *inside the transaction* of any write
that can change the answer, so the bump commits atomically with the change.

How an instance learns of a bump:
- **PostgreSQL**: before trusting its caches a request waits for a read of the counters
  that started after it arrived (``EpochCache.fence``). Concurrent requests share these
  reads over one dedicated connection, so there is at most one tiny primary-key query in
  flight per round trip however busy the instance is, and no ORM session is opened on a
  hit. The same transaction also runs ``pg_notify`` so that idle instances empty their
  caches early. While that connection is down the caches are bypassed.
- **SQLite**: one tiny autocommit query on the file (no lock) per request; the fast lane
  shares such reads across concurrent requests, as on PostgreSQL.

Entries are tagged with the epoch seen *before* they were loaded, so a slow request can
never store stale data under a newer epoch. No TTL: a revoked grant can never live on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any, TypeVar, cast

from sqlalchemy import event, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from zenpro.kit.metrics import cache_event

AUTH = "auth"
GRANTS = "grants"
EPOCHS = (AUTH, GRANTS)

# table -> (epochs it affects, whether an INSERT affects them, UPDATE columns that do not);
# the domain's rules are handed to install() (they live with the models: models/epochs.py).
Rule = tuple[frozenset[str], bool, frozenset[str]]
_RULES: dict[str, Rule] = {}
_EPOCH_MODEL: Any = None  # the ORM class of the counters table (name, value)
_PENDING = "zenpro_epochs_to_bump"
_SNAPSHOT = "zenpro_epochs_seen"
_COMMITTING = "zenpro_epochs_committing"
CHANNEL = "zenpro_epochs"
EPOCH_QUERY = "SELECT name, value FROM cache_epochs"
READ_TIMEOUT = 2.0  # seconds an epoch read may take before the link counts as down
log = logging.getLogger("zenpro.cache")
T = TypeVar("T")
_FAILED = object()  # what a shared load hands its waiters when it raised
_CANCELLED = object()  # … when its request went away (a waiter takes over)


class EpochCache:
    """Bounded LRU stores, one per epoch, emptied when their epoch moves."""

    def __init__(self, max_entries: int = 50_000) -> None:
        self.max_entries = max_entries
        self.epochs: dict[str, int] = {}
        self._stores: dict[str, OrderedDict[Any, tuple[int, Any]]] = {
            e: OrderedDict() for e in EPOCHS
        }
        self.push = False  # True once a PostgreSQL listener delivers bumps to us
        self.listening = False
        self._task: asyncio.Task[None] | None = None
        self._conn: Any = None  # asyncpg connection: LISTEN, and the epoch reads
        self._lock = asyncio.Lock()
        self._next: asyncio.Future[bool] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._db_epochs: dict[str, int] = {}
        self._last_read = 0.0  # time.monotonic() of the last successful epoch read
        self._flights: dict[tuple[str, Hashable, int], asyncio.Future[Any]] = {}
        self._engine: AsyncEngine | None = None  # SQLite: where fresh() reads the counters

    def moved(self, names: Iterable[str]) -> None:
        """Forget everything under these epochs (a bump happened)."""
        for name in names:
            if name in self._stores:
                self._stores[name].clear()
                self.epochs[name] = self.epochs.get(name, 0) + 1

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self.moved(payload.split(","))

    async def fence(self) -> bool:
        """Apply a read of the counters that *started after this call*; False when the
        database connection is down (the caller then bypasses the caches).

        Concurrent requests share reads: whoever arrives while a read is running waits for
        the next one, so there is at most one tiny query in flight per round trip, however
        many requests there are, and a change committed before a request arrived is always
        seen by it — on every instance (the NOTIFY only empties caches early)."""
        if self.push and not self.listening:
            return False
        fut = self._next
        if fut is None:
            fut = self._next = asyncio.get_running_loop().create_future()
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read_loop())
        return bool(await asyncio.shield(fut))

    async def _read_loop(self) -> None:
        while self._next is not None:
            fut, self._next = self._next, None
            ok = await self._read()
            if not fut.done():
                fut.set_result(ok)

    async def _read(self) -> bool:
        if self._engine is not None:  # SQLite: a plain autocommit read, no lock taken
            try:
                await self.sync(self._engine)
            except Exception:
                return False
            return True
        conn = self._conn
        if conn is None:
            return False
        try:
            async with self._lock:
                rows = await conn.fetch(EPOCH_QUERY, timeout=READ_TIMEOUT)
        except Exception as exc:  # any failure: bypass the caches until reconnected
            if self._conn is conn:  # not already replaced by a reconnect
                if self.listening:
                    log.warning("cache epoch read failed (%r); caches bypassed", exc)
                self.listening = False
            conn.terminate()  # the listener notices within a second and reconnects
            return False
        self._last_read = time.monotonic()
        for name, value in rows:
            if self._db_epochs.get(name) != value:
                self._db_epochs[name] = value
                self.moved([name])
        return True

    async def fresh(self) -> bool:
        """:meth:`fence` on either backend, for a request that uses the caches without a
        session of its own (the fast lane). False when they cannot be trusted now: the
        caller then takes the normal path, which meets (and answers) any error itself."""
        if self.push and not self.listening:
            return False
        if not self.push and self._engine is None:
            return False
        return await self.fence()

    async def start(self, engine: AsyncEngine) -> None:
        """On PostgreSQL, listen for bumps (and keep reconnecting) for the app's lifetime;
        elsewhere remember the engine for :meth:`fresh`."""
        if engine.dialect.name != "postgresql":
            self._engine = engine
            return
        self.push = True
        dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._task = asyncio.create_task(self._listen(dsn), name="zenpro-epoch-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen(self, dsn: str) -> None:
        import asyncpg

        while True:
            conn = None
            try:
                conn = await asyncpg.connect(dsn, timeout=5)
                await conn.add_listener(CHANNEL, self._on_notify)
                # Anything may have changed while we were not listening.
                self.moved(EPOCHS)
                self._conn = conn
                self.listening = True
                while not conn.is_closed():
                    await asyncio.sleep(1)
                    if time.monotonic() - self._last_read < 1:
                        continue  # busy: the epoch reads prove the link alive
                    async with self._lock:
                        if conn.is_closed():
                            break  # an epoch read failed and dropped it (and said so)
                        # notice a dead link within a second or two
                        await conn.execute("SELECT 1", timeout=READ_TIMEOUT)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure: bypass the caches and retry
                log.warning("cache invalidation listener down (%s); caches bypassed", exc)
            finally:
                self.listening = False
                self._conn = None
                if conn is not None and not conn.is_closed():
                    await conn.close()
            await asyncio.sleep(1)

    async def sync(self, engine: AsyncEngine) -> dict[str, int]:
        """Read the counters (one query, no transaction); drop stores that moved."""
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            rows = (await conn.execute(text("SELECT name, value FROM cache_epochs"))).all()
        seen = {str(name): int(value) for name, value in rows}
        for name, value in seen.items():
            if self.epochs.get(name) != value:
                if name in self._stores:
                    self._stores[name].clear()
                self.epochs[name] = value
        return seen

    def get(self, epoch: str, key: Any) -> Any | None:
        store = self._stores[epoch]
        entry = store.get(key)
        if entry is None or entry[0] != self.epochs.get(epoch):
            cache_event(epoch, hit=False)
            return None
        store.move_to_end(key)
        cache_event(epoch, hit=True)
        return entry[1]

    def put(self, epoch: str, key: Any, value: Any, seen: int) -> None:
        if seen != self.epochs.get(epoch):
            return  # loaded under an older epoch: never store possibly-stale data
        store = self._stores[epoch]
        store[key] = (seen, value)
        store.move_to_end(key)
        while len(store) > self.max_entries:
            store.popitem(last=False)

    async def load_once(
        self, epoch: str, key: Hashable, seen: int, load: Callable[[], Awaitable[T]]
    ) -> T:
        """``load()`` and store the result; concurrent misses of the same key under the same
        epoch share one load (right after an epoch moves, every request misses at once).

        Sharing is safe: a waiter's epoch read started after it arrived and saw ``seen``, so
        no change committed before it arrived is missing from a load made under ``seen``.
        If the shared load fails, each waiter loads on its own (and meets its own error);
        if it was cancelled (its client went away), the waiters form a new shared load."""
        flight = (epoch, key, seen)
        pending = self._flights.get(flight)
        if pending is not None:
            shared = await asyncio.shield(pending)
            if shared is _CANCELLED:
                return await self.load_once(epoch, key, seen, load)
            return cast(T, shared) if shared is not _FAILED else await load()
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._flights[flight] = fut
        try:
            value = await load()
        except asyncio.CancelledError:
            fut.set_result(_CANCELLED)
            raise
        except BaseException:
            fut.set_result(_FAILED)
            raise
        finally:
            del self._flights[flight]
        fut.set_result(value)
        self.put(epoch, key, value, seen)
        return value

    def drop(self, epoch: str, key: Any) -> None:
        self._stores[epoch].pop(key, None)


async def snapshot(db: AsyncSession) -> tuple[EpochCache, dict[str, int]] | None:
    """The request's cache and the epochs it synced (once per session), or None when the
    session has no cache or has itself written something that moves an epoch."""
    cache: EpochCache | None = db.info.get("cache")
    if cache is None or db.sync_session.info.get(_PENDING):
        return None
    seen: dict[str, int] | None = db.info.get(_SNAPSHOT)
    if cache.push:
        if not cache.listening:
            return None
        if seen is None:
            if not await cache.fence():  # once per request, shared with concurrent ones
                return None
            seen = db.info[_SNAPSHOT] = dict(cache.epochs)
        return cache, seen
    if seen is None:
        # SQLite: the request reads the counters itself, so a failing database fails it
        # here (503) rather than quietly bypassing the caches.
        bind = db.bind
        assert isinstance(bind, AsyncEngine)
        seen = await cache.sync(bind)
        db.info[_SNAPSHOT] = seen
    return cache, seen


async def cached(
    db: AsyncSession, epoch: str, key: Hashable, load: Callable[[], Awaitable[T]]
) -> T:
    """The value under ``key`` in the ``epoch`` store, else ``load()`` (stored while still
    current). With no usable cache (see :func:`snapshot`) it is simply ``load()``."""
    snap = await snapshot(db)
    if snap is None:
        return await load()
    cache, seen = snap
    hit = cache.get(epoch, key)
    if hit is not None:
        return cast(T, hit)
    return await cache.load_once(epoch, key, seen[epoch], load)


def _mark(session: Session, epochs: frozenset[str]) -> None:
    session.info.setdefault(_PENDING, set()).update(epochs)


def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    for obj in session.new:
        rule = _RULES.get(getattr(obj, "__tablename__", ""))
        if rule and rule[1]:
            _mark(session, rule[0])
    for obj in session.deleted:
        rule = _RULES.get(getattr(obj, "__tablename__", ""))
        if rule:
            _mark(session, rule[0])
    for obj in session.dirty:
        rule = _RULES.get(getattr(obj, "__tablename__", ""))
        if rule and _changed_columns(obj) - rule[2]:
            _mark(session, rule[0])


def _changed_columns(obj: Any) -> set[str]:
    from sqlalchemy import inspect

    state = inspect(obj)
    return {attr.key for attr in state.attrs if attr.history.has_changes()}


def _on_execute(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    mapper = state.bind_mapper
    table = getattr(mapper, "local_table", None) if mapper is not None else None
    rule = _RULES.get(getattr(table, "name", ""))
    if rule is None:
        return
    if state.is_insert and not rule[1]:
        return
    if state.is_update:
        values = getattr(state.statement, "_values", None) or {}
        columns = {getattr(k, "key", str(k)) for k in values}
        if columns and not columns - rule[2]:
            return
    _mark(state.session, rule[0])


def _before_commit(session: Session) -> None:
    session.flush()
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    session.info[_COMMITTING] = pending
    counters = _EPOCH_MODEL
    # A fixed order keeps two writers from deadlocking on the counter rows.
    for name in sorted(pending):
        session.execute(
            update(counters).where(counters.name == name).values(value=counters.value + 1)
        )
    if session.get_bind().dialect.name == "postgresql":
        # Delivered to every listening instance when (and only if) this transaction commits:
        # it empties their caches early (correctness comes from EpochCache.fence).
        payload = ",".join(sorted(pending))
        session.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": payload})


def _after_commit(session: Session) -> None:
    # The writer's own instance forgets at once, without waiting for the notification.
    committed = session.info.pop(_COMMITTING, None)
    cache: EpochCache | None = session.info.get("cache")
    if committed and cache is not None:
        cache.moved(committed)


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_COMMITTING, None)


def install(rules: dict[str, Rule], counters: Any) -> None:
    """Register the bump hooks once for every Session: ``rules`` say which table's writes
    move which epochs, ``counters`` is the ORM class of the epoch table."""
    global _EPOCH_MODEL
    _RULES.clear()
    _RULES.update(rules)
    _EPOCH_MODEL = counters
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _on_execute)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", lambda s, _t: _after_rollback(s))
