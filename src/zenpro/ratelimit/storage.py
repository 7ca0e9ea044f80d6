"""Counting: a moving-window limiter over ``limits.aio`` storage (memory or Redis).

Moving window rather than fixed window: a fixed window lets a client spend twice its
quota across a window boundary, which matters for the login limits; and with ``limits``
it costs the same two storage round trips per policy (acquire + window stats).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from limits import RateLimitItem
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import MemoryStorage as SyncMemoryStorage
from limits.strategies import MovingWindowRateLimiter as SyncMovingWindow
from limits.util import WindowStats
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from zenpro.config import Settings
from zenpro.kit.metrics import Metrics
from zenpro.ratelimit.policies import Policy

log = logging.getLogger("zenpro.ratelimit")
KEY_PREFIX = "zenpro-rl"


@dataclass(frozen=True)
class Check:
    """Count one request against ``policy`` in the bucket named by ``identifiers``."""

    policy: Policy
    identifiers: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    policy: Policy
    allowed: bool
    remaining: int
    reset_after: int  # whole seconds until a unit of quota is free again

    def header(self) -> str:
        """The ``RateLimit`` list member (draft-ietf-httpapi-ratelimit-headers-11)."""
        return f'"{self.policy.name}";r={self.remaining};t={self.reset_after}'


def make_storage(settings: Settings) -> Storage:
    """Async storage: Redis (shared by all instances) when configured, else this process."""
    if not settings.redis_url:
        return MemoryStorage()
    timeout = settings.ratelimit_storage_timeout
    options: dict[str, object] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        # No client-side retries with backoff: an outage must cost one timeout, not several.
        "retry": Retry(NoBackoff(), 0),
    }
    return RedisStorage(
        "async+" + settings.redis_url,
        wrap_exceptions=True,
        implementation="redispy",
        key_prefix=KEY_PREFIX,
        **options,  # type: ignore[arg-type]
    )


class _InProcessStrategy:
    """limits' *synchronous* in-memory moving window behind the async interface.

    Measured: ``limits.aio.storage.MemoryStorage`` schedules an expiry sweep on every
    hit that visits every key with a thread hop each; the synchronous storage expires
    with a background timer instead. It does no I/O, so calling it on the event loop
    cannot stall it.
    """

    def __init__(self) -> None:
        self._limiter = SyncMovingWindow(SyncMemoryStorage())

    async def hit(self, item: RateLimitItem, *identifiers: str) -> bool:
        return self._limiter.hit(item, *identifiers)

    async def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        return self._limiter.get_window_stats(item, *identifiers)


class Limiter:
    """Applies checks; returns None when the storage is unavailable (caller picks the policy).

    After a storage error the storage is left alone for ``pause_seconds`` so an outage
    costs at most one timeout per pause, not one per request; then it is tried again,
    which is how limiting resumes without a restart when Redis comes back.
    """

    pause_seconds = 1.0
    warn_every_seconds = 60.0

    def __init__(self, storage: Storage, metrics: Metrics, fail_closed: bool) -> None:
        self.storage = storage
        self.strategy: MovingWindowRateLimiter | _InProcessStrategy = (
            _InProcessStrategy()
            if isinstance(storage, MemoryStorage)
            else MovingWindowRateLimiter(storage)
        )
        self.metrics = metrics
        self.fail_closed = fail_closed
        self._down_until = 0.0
        self._last_warning = -math.inf

    async def apply(self, checks: Sequence[Check]) -> list[Outcome] | None:
        if time.monotonic() < self._down_until:
            return None
        try:
            return [await self._apply_one(check) for check in checks]
        except (StorageError, OSError) as exc:
            self._storage_failed(exc)
            return None

    async def _apply_one(self, check: Check) -> Outcome:
        item, ids = check.policy.item, check.identifiers
        allowed = await self.strategy.hit(item, *ids)
        stats = await self.strategy.get_window_stats(item, *ids)
        reset_after = max(0, math.ceil(stats.reset_time - time.time()))
        if not allowed:
            reset_after = max(1, reset_after)
        return Outcome(check.policy, allowed, max(0, stats.remaining), reset_after)

    def _storage_failed(self, exc: Exception) -> None:
        now = time.monotonic()
        self._down_until = now + self.pause_seconds
        self.metrics.ratelimit_storage_errors.inc()
        if now - self._last_warning >= self.warn_every_seconds:
            self._last_warning = now
            action = "refusing requests (fail-closed)" if self.fail_closed else "not limiting"
            log.warning(
                "rate-limit storage unavailable (%s: %s); %s", type(exc).__name__, exc, action
            )

    async def close(self) -> None:
        bridge = getattr(self.storage, "bridge", None)
        client = getattr(bridge, "storage", None)
        if client is not None and hasattr(client, "aclose"):
            await client.aclose()
