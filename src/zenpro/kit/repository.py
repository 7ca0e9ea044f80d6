"""Helpers shared by every repository."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.errors import Conflict


async def flush_or_conflict(db: AsyncSession, message: str) -> None:
    """Flush; a unique-constraint race becomes a 409 instead of a 500.

    The transaction is then unusable, which is fine: the error ends the request and
    the request's session rolls back.
    """
    try:
        await db.flush()
    except IntegrityError as exc:
        raise Conflict(message) from exc
