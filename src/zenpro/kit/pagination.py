"""Offset pagination with bare-array bodies plus ``X-Total-Count`` and ``Link`` (spec §1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request, Response
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")

MAX_LIMIT = 1000
# Above this an offset overflows the database's 64-bit integer (a 500 on SQLite).
MAX_OFFSET = 2**62


@dataclass(frozen=True)
class PageParams:
    offset: int
    limit: int


def _page_params(
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")] = 0,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Items to return (max {MAX_LIMIT}).")
    ] = 100,
) -> PageParams:
    return PageParams(offset=offset, limit=limit)


Page = Annotated[PageParams, Depends(_page_params)]


async def fetch_page(
    db: AsyncSession, stmt: Select[Any], page: PageParams, *order_by: Any
) -> tuple[list[Any], int]:
    """Run ``stmt`` for one page in a stable order, and count the whole result."""
    total = await db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = (await db.scalars(stmt.order_by(*order_by).offset(page.offset).limit(page.limit))).all()
    return list(rows), int(total or 0)


def set_page_headers(request: Request, response: Response, page: PageParams, total: int) -> None:
    """``X-Total-Count`` and an RFC 8288 ``Link`` to the next page when there is one."""
    response.headers["X-Total-Count"] = str(total)
    if page.offset + page.limit < total:
        url = request.url.include_query_params(offset=page.offset + page.limit, limit=page.limit)
        response.headers["Link"] = f'<{url}>; rel="next"'
