from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from zenpro.kit.db import Base


class CacheEpoch(Base):
    """Version counters for the in-process caches (see ``zenpro.kit.cache``).

    A write that can change who someone is (``auth``) or what they may do (``grants``)
    bumps the counter in its own transaction; every instance compares counters before
    trusting its caches, so invalidation is immediate and transactional on all of them.
    """

    __tablename__ = "cache_epochs"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class CacheChange(Base):
    """What one bump of an epoch touched (``zenpro.kit.cache``): one row per scope, such as
    ``o:<organization id>`` or ``u:<user id>``, or ``*`` for everything. Written in the
    bump's transaction; readers that see the counter move read these rows in the same
    statement and drop only the entries tagged with those scopes. Old rows are pruned: a
    reader that finds rows missing drops everything, which is always safe."""

    __tablename__ = "cache_changes"

    epoch: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
