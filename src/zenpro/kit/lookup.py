"""Where a rule gets its data: through the cache and the database, or from the cache alone.

The hot answers (who a credential is, what a user may do in a workspace, the caller's own
user) are written once, as functions over a :class:`Lookup`. The routes call them with
:class:`Loading` (``kit.cache.cached``: a hit, else a load that is then cached); the fast
lane in front of FastAPI calls the very same functions with :class:`Peeking`, which only
reads the cache and raises :class:`Miss` for anything else, so the fast lane hands the
request to the route. There is one rule and one cache key per answer, whichever way it is
looked up: the fast lane cannot drift from the route.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Protocol, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.kit.cache import EpochCache, Tags, cached

T = TypeVar("T")
Load = Callable[[AsyncSession], Awaitable[T]]
"""Database work for a lookup: given the request's session, the value."""


class Miss(Exception):
    """The cache cannot answer alone: the request must take the full path."""


class Lookup(Protocol):
    """The data a rule needs: cached values by key, and the database work around them."""

    async def get(
        self, epoch: str, key: Hashable, load: Load[T], tags: Callable[[T], Tags] | None = None
    ) -> T:
        """The value under ``key`` in the ``epoch`` store, or what ``load`` finds (stored
        tagged with ``tags(value)``, see ``kit.cache``)."""
        ...

    async def run(self, work: Load[T]) -> T:
        """Database work that no cache can stand in for (a write, a fresh check)."""
        ...


@dataclass(slots=True)
class Loading:
    """The routes' lookup: the request's session, through the epoch-validated caches."""

    db: AsyncSession

    async def get(
        self, epoch: str, key: Hashable, load: Load[T], tags: Callable[[T], Tags] | None = None
    ) -> T:
        db = self.db
        return await cached(db, epoch, key, lambda: load(db), tags)

    async def run(self, work: Load[T]) -> T:
        return await work(self.db)


@dataclass(slots=True)
class Peeking:
    """The fast lane's lookup: cache hits only, never the database.

    The caller must have checked that the cache is current (``EpochCache.fresh``) before
    trusting what it finds here; every miss and every database step raises :class:`Miss`.
    """

    cache: EpochCache

    async def get(
        self, epoch: str, key: Hashable, load: Load[T], tags: Callable[[T], Tags] | None = None
    ) -> T:
        hit = self.cache.get(epoch, key)
        if hit is None:
            raise Miss(epoch)
        return cast(T, hit)

    async def run(self, work: Load[T]) -> T:
        raise Miss("database")
