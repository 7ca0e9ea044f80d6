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

What a bump touched: the writer also records, in the same transaction, the *scopes* its
write can change (``cache_changes``: ``u:<user>``, ``o:<organization>``, … or ``*``; the
domain names them, ``models/epochs.py``). The epoch read is one statement that returns
the counters together with the change rows after the ones this instance has applied, so
an instance drops only the entries tagged with a touched scope: a grant written in one
organization leaves every other tenant's cached answers alone. An entry stored without
tags, a bump without rows (pruned, or written by a statement that could not say) and
``*`` drop everything of the epoch, which is always safe.

Entries are stored only if nothing that touches them happened since the epoch snapshot
taken *before* they were loaded, so a slow request can never store stale data. No TTL: a
revoked grant can never live on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any, TypeVar, cast

from sqlalchemy import delete, event, insert, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.orm.base import NO_VALUE

from zenpro.kit.metrics import cache_event

AUTH = "auth"
GRANTS = "grants"
EPOCHS = (AUTH, GRANTS)
ALL = "*"  # the scope of a write that may change anything of its epoch
EVERYTHING = frozenset({ALL})
NOTHING = "-"  # the row of a bump that touched no cached entry (an invitation's membership)
Scopes = frozenset[str]
# What a cached value depends on, or None: dropped on every change of its epoch.
Tags = frozenset[str] | None
HISTORY = 1024  # applied changes remembered per epoch, for the stores of slow loads
KEEP_CHANGES = 10_000  # change rows kept per epoch; a reader further behind drops all
PRUNE_EVERY = 512

# table -> (epochs it affects, whether an INSERT affects them, UPDATE columns that do not);
# the domain's rules are handed to install() (they live with the models: models/epochs.py).
Rule = tuple[frozenset[str], bool, frozenset[str]]
_RULES: dict[str, Rule] = {}
# table -> the scopes a write of one of its rows touches (default: everything)
_SCOPES: dict[str, Callable[[Any], Scopes]] = {}
_EPOCH_MODEL: Any = None  # the ORM class of the counters table (name, value)
_CHANGE_MODEL: Any = None  # the ORM class of the change rows (epoch, seq, scope)
_PENDING = "zenpro_epochs_to_bump"
_SNAPSHOT = "zenpro_epochs_seen"
_COMMITTING = "zenpro_epochs_committing"
CHANNEL = "zenpro_epochs"

# The one epoch read: every counter, with the change rows after the sequence number this
# instance has applied for that epoch (parameters in EPOCHS order), in one statement.
_EPOCH_READ = (
    "SELECT e.name, e.value, c.seq, c.scope FROM cache_epochs e "
    "LEFT JOIN cache_changes c ON c.epoch = e.name AND c.seq <= e.value "
    "AND c.seq > CASE e.name WHEN 'auth' THEN {0} WHEN 'grants' THEN {1} ELSE e.value END"
)
PG_EPOCH_QUERY = _EPOCH_READ.format("$1::bigint", "$2::bigint")
SQLITE_EPOCH_QUERY = _EPOCH_READ.format(":p0", ":p1")
UNKNOWN = 2**62  # "after" for an epoch never read: no change rows, everything drops
READ_TIMEOUT = 2.0  # seconds an epoch read may take before the link counts as down
log = logging.getLogger("zenpro.cache")
T = TypeVar("T")
_FAILED = object()  # what a shared load hands its waiters when it raised
_CANCELLED = object()  # … when its request went away (a waiter takes over)


class _Store:
    """One epoch's entries, bounded LRU, indexed by tag so a change drops only its own."""

    def __init__(self) -> None:
        self.entries: OrderedDict[Any, tuple[Any, Tags]] = OrderedDict()
        self.by_tag: dict[str, set[Any]] = {}
        self.untagged: set[Any] = set()

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, key: Any) -> Any | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        self.entries.move_to_end(key)
        return entry[0]

    def put(self, key: Any, value: Any, tags: Tags) -> None:
        self.pop(key)
        self.entries[key] = (value, tags)
        if tags is None:
            self.untagged.add(key)
        else:
            for tag in tags:
                self.by_tag.setdefault(tag, set()).add(key)

    def pop(self, key: Any) -> None:
        entry = self.entries.pop(key, None)
        if entry is None:
            return
        tags = entry[1]
        if tags is None:
            self.untagged.discard(key)
            return
        for tag in tags:
            keys = self.by_tag.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self.by_tag[tag]

    def oldest(self) -> Any:
        return next(iter(self.entries))

    def drop(self, scopes: Scopes) -> None:
        """Everything a change of ``scopes`` may have touched: the entries tagged with one
        of them, and every untagged entry (``*``: all)."""
        if ALL in scopes:
            self.entries.clear()
            self.by_tag.clear()
            self.untagged.clear()
            return
        doomed = set(self.untagged)
        for scope in scopes:
            doomed |= self.by_tag.get(scope, set())
        for key in doomed:
            self.pop(key)


class EpochCache:
    """Bounded LRU stores, one per epoch; a change drops what it touched (see module doc).

    ``epochs`` counts the changes this instance has applied, per epoch (a local number,
    not the database's); a load remembers it before reading, and ``history`` says what
    each later change touched, so that :meth:`put` never stores what moved meanwhile."""

    def __init__(self, max_entries: int = 50_000) -> None:
        self.max_entries = max_entries
        self.epochs: dict[str, int] = {e: 0 for e in EPOCHS}
        self._stores: dict[str, _Store] = {e: _Store() for e in EPOCHS}
        self._history: dict[str, deque[tuple[int, Scopes]]] = {
            e: deque(maxlen=HISTORY) for e in EPOCHS
        }
        self.push = False  # True once a PostgreSQL listener delivers bumps to us
        self.listening = False
        self._task: asyncio.Task[None] | None = None
        self._conn: Any = None  # asyncpg connection: LISTEN, and the epoch reads
        self._lock = asyncio.Lock()
        self._next: asyncio.Future[bool] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._db_epochs: dict[str, int] = {}  # the database counters applied so far
        self._last_read = 0.0  # time.monotonic() of the last successful epoch read
        self._flights: dict[tuple[str, Hashable, int], asyncio.Future[Any]] = {}
        self._engine: AsyncEngine | None = None  # SQLite: where fresh() reads the counters

    def moved(self, names: Iterable[str]) -> None:
        """Forget everything under these epochs."""
        for name in names:
            self.changed(name, EVERYTHING)

    def changed(self, name: str, scopes: Scopes) -> None:
        """A change of ``scopes`` under epoch ``name`` happened: drop what it touched."""
        if name not in self._stores:
            return
        self.epochs[name] += 1
        self._history[name].append((self.epochs[name], scopes))
        self._stores[name].drop(scopes)

    def _absorb(self, rows: Iterable[tuple[Any, Any, Any, Any]]) -> None:
        """Apply one epoch read: ``(name, value, seq | None, scope | None)`` rows."""
        values: dict[str, int] = {}
        seen: dict[str, dict[int, set[str]]] = {}
        for name, value, seq, scope in rows:
            values[str(name)] = int(value)
            if seq is not None:
                seen.setdefault(str(name), {}).setdefault(int(seq), set()).add(str(scope))
        for name, value in values.items():
            old = self._db_epochs.get(name)
            if old is not None and value <= old:
                continue  # nothing new (or an older read finishing after a newer one)
            self._db_epochs[name] = value
            found = {n: sc for n, sc in seen.get(name, {}).items() if old is None or n > old}
            if old is None or len(found) != value - old:
                self.changed(name, EVERYTHING)  # first read, or rows pruned or missing
                continue
            scopes = frozenset().union(*found.values()) - {NOTHING}
            self.changed(name, EVERYTHING if ALL in scopes else scopes)

    def _after(self) -> list[int]:
        return [self._db_epochs.get(e, UNKNOWN) for e in EPOCHS]

    def _on_notify(self, _conn: object, _pid: int, _channel: str, _payload: str) -> None:
        # A bump committed somewhere: read it now, so an idle instance forgets early (and
        # only what it touched). Correctness never depends on this (see fence()).
        if self._next is None and self.listening:
            asyncio.get_running_loop().create_task(self.fence())

    async def fence(self) -> bool:
        """Apply a read of the counters that *started after this call*; False when the
        database connection is down (the caller then bypasses the caches).

        Concurrent requests share reads: whoever arrives while a read is running waits for
        the next one, so there is at most one tiny query in flight per round trip, however
        many requests there are, and a change committed before a request arrived is always
        seen by it — on every instance (the NOTIFY only makes idle instances read early)."""
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
                rows = await conn.fetch(PG_EPOCH_QUERY, *self._after(), timeout=READ_TIMEOUT)
        except Exception as exc:  # any failure: bypass the caches until reconnected
            if self._conn is conn:  # not already replaced by a reconnect
                if self.listening:
                    log.warning("cache epoch read failed (%r); caches bypassed", exc)
                self.listening = False
            conn.terminate()  # the listener notices within a second and reconnects
            return False
        self._last_read = time.monotonic()
        self._absorb(tuple(r) for r in rows)
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
                self._db_epochs.clear()
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
        """Read the counters and their new change rows (one query, no transaction), apply
        them, and return the epochs as applied (a request's snapshot)."""
        params = {f"p{i}": after for i, after in enumerate(self._after())}
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            rows = (await conn.execute(text(SQLITE_EPOCH_QUERY), params)).all()
        self._absorb(tuple(r) for r in rows)
        return dict(self.epochs)

    def get(self, epoch: str, key: Any) -> Any | None:
        found = self._stores[epoch].get(key)
        cache_event(epoch, hit=found is not None)
        return found

    def put(self, epoch: str, key: Any, value: Any, seen: int, tags: Tags = None) -> None:
        """Store ``value``, loaded after the snapshot ``seen``, unless a change applied
        since may have touched it (or cannot be told any more)."""
        if seen != self.epochs[epoch]:
            later = [scopes for n, scopes in self._history[epoch] if n > seen]
            if len(later) != self.epochs[epoch] - seen:
                return  # history too short to tell
            if tags is None or any(ALL in sc or not sc.isdisjoint(tags) for sc in later):
                return  # loaded before a change that touched it: never store stale data
        store = self._stores[epoch]
        store.put(key, value, tags)
        while len(store) > self.max_entries:
            store.pop(store.oldest())

    async def load_once(
        self,
        epoch: str,
        key: Hashable,
        seen: int,
        load: Callable[[], Awaitable[T]],
        tags: Callable[[T], Tags] | None = None,
    ) -> T:
        """``load()`` and store the result (tagged with ``tags(result)``); concurrent misses
        of the same key under the same snapshot share one load (right after a change,
        every request that needs the entry misses at once).

        Sharing is safe: a waiter's epoch read started after it arrived and saw ``seen``, so
        no change committed before it arrived is missing from a load made under ``seen``.
        If the shared load fails, each waiter loads on its own (and meets its own error);
        if it was cancelled (its client went away), the waiters form a new shared load."""
        flight = (epoch, key, seen)
        pending = self._flights.get(flight)
        if pending is not None:
            shared = await asyncio.shield(pending)
            if shared is _CANCELLED:
                return await self.load_once(epoch, key, seen, load, tags)
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
        self.put(epoch, key, value, seen, tags(value) if tags is not None else None)
        return value

    def drop(self, epoch: str, key: Any) -> None:
        self._stores[epoch].pop(key)


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
    db: AsyncSession,
    epoch: str,
    key: Hashable,
    load: Callable[[], Awaitable[T]],
    tags: Callable[[T], Tags] | None = None,
) -> T:
    """The value under ``key`` in the ``epoch`` store, else ``load()`` (stored while still
    current, tagged with ``tags(value)``: without, any change of the epoch drops it). With
    no usable cache (see :func:`snapshot`) it is simply ``load()``."""
    snap = await snapshot(db)
    if snap is None:
        return await load()
    cache, seen = snap
    hit = cache.get(epoch, key)
    if hit is not None:
        return cast(T, hit)
    return await cache.load_once(epoch, key, seen[epoch], load, tags)


def _mark(session: Session, epochs: frozenset[str], scopes: Scopes) -> None:
    pending: dict[str, set[str]] = session.info.setdefault(_PENDING, {})
    for name in epochs:
        pending.setdefault(name, set()).update(scopes)


class _Loaded:
    """A row's loaded attributes, read without touching the database (a flush hook may
    not load anything): a missing one raises AttributeError, and the write then counts
    as touching everything."""

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None


def _scopes(table: str, obj: Any) -> Scopes:
    """What writing ``obj`` touches: its scopes before and after the change."""
    scope_of = _SCOPES.get(table)
    if scope_of is None:
        return EVERYTHING
    from sqlalchemy import inspect

    state = inspect(obj)
    now = dict(state.dict)
    before = {**now, **{k: v for k, v in state.committed_state.items() if v is not NO_VALUE}}
    try:
        return scope_of(_Loaded(now)) | scope_of(_Loaded(before))
    except AttributeError:
        return EVERYTHING


def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    for obj in session.new:
        table = getattr(obj, "__tablename__", "")
        rule = _RULES.get(table)
        if rule and rule[1]:
            _mark(session, rule[0], _scopes(table, obj))
    for obj in session.deleted:
        table = getattr(obj, "__tablename__", "")
        rule = _RULES.get(table)
        if rule:
            _mark(session, rule[0], _scopes(table, obj))
    for obj in session.dirty:
        table = getattr(obj, "__tablename__", "")
        rule = _RULES.get(table)
        if rule and _changed_columns(obj) - rule[2]:
            _mark(session, rule[0], _scopes(table, obj))


def _changed_columns(obj: Any) -> set[str]:
    from sqlalchemy import inspect

    state = inspect(obj)
    return {attr.key for attr in state.attrs if attr.history.has_changes()}


def _on_execute(state: ORMExecuteState) -> None:
    """A bulk statement: it touches everything unless it says what (``cache_scopes`` in
    its execution options, e.g. ``stmt.execution_options(cache_scopes=…)``)."""
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
    _mark(state.session, rule[0], state.execution_options.get("cache_scopes", EVERYTHING))


def _before_commit(session: Session) -> None:
    session.flush()
    pending: dict[str, set[str]] | None = session.info.pop(_PENDING, None)
    if not pending:
        return
    session.info[_COMMITTING] = pending
    counters, changes = _EPOCH_MODEL, _CHANGE_MODEL
    # A fixed order keeps two writers from deadlocking on the counter rows.
    for name in sorted(pending):
        bump = update(counters).where(counters.name == name).values(value=counters.value + 1)
        seq = session.execute(bump.returning(counters.value)).scalar_one()
        scopes = sorted(pending[name]) or [NOTHING]
        session.execute(insert(changes), [{"epoch": name, "seq": seq, "scope": s} for s in scopes])
        if seq % PRUNE_EVERY == 0:
            old = (changes.epoch == name) & (changes.seq <= seq - KEEP_CHANGES)
            session.execute(delete(changes).where(old))
    if session.get_bind().dialect.name == "postgresql":
        # Delivered to every listening instance when (and only if) this transaction commits:
        # idle ones read the change early (correctness comes from EpochCache.fence).
        payload = ",".join(sorted(pending))
        session.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": payload})


def _after_commit(session: Session) -> None:
    # The writer's own instance forgets at once, without waiting for its next read.
    committed: dict[str, set[str]] | None = session.info.pop(_COMMITTING, None)
    cache: EpochCache | None = session.info.get("cache")
    if committed and cache is not None:
        for name, scopes in committed.items():
            cache.changed(name, EVERYTHING if ALL in scopes else frozenset(scopes))


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_COMMITTING, None)


def install(
    rules: dict[str, Rule],
    scopes: dict[str, Callable[[Any], Scopes]],
    counters: Any,
    changes: Any,
) -> None:
    """Register the bump hooks once for every Session: ``rules`` say which table's writes
    move which epochs, ``scopes`` what a row's write touches (tables without: everything),
    ``counters`` and ``changes`` are the ORM classes of the epoch and change tables."""
    global _EPOCH_MODEL, _CHANGE_MODEL
    _RULES.clear()
    _RULES.update(rules)
    _SCOPES.clear()
    _SCOPES.update(scopes)
    _EPOCH_MODEL, _CHANGE_MODEL = counters, changes
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _on_execute)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", lambda s, _t: _after_rollback(s))
