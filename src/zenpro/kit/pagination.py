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


def _counting(stmt: Select[Any]) -> Select[int]:
    return select(func.count()).select_from(stmt.order_by(None).subquery())


async def _count(db: AsyncSession, stmt: Select[*tuple[Any, ...]]) -> int:
    return int(await db.scalar(_counting(stmt)) or 0)


async def _counts(db: AsyncSession, stmts: list[Select[Any]]) -> list[int]:
    """Each statement's row count, all in one round trip (scalar subqueries)."""
    row = (await db.execute(select(*(_counting(s).scalar_subquery() for s in stmts)))).one()
    return [int(n or 0) for n in row]


async def fetch_page(
    db: AsyncSession,
    stmt: Select[*tuple[Any, ...]],
    page: PageParams,
    *order_by: Any,
    rows: bool = False,
) -> tuple[list[Any], int]:
    """Run ``stmt`` for one page in a stable order, and count the whole result. Items are
    the first selected entity, or whole rows (tuples) with ``rows=True``."""
    total = await _count(db, stmt)
    paged = stmt.order_by(*order_by).offset(page.offset).limit(page.limit)
    if rows:
        return [tuple(r) for r in (await db.execute(paged)).all()], total
    return list((await db.scalars(paged)).all()), total


async def fetch_sections(
    db: AsyncSession, sections: list[tuple[Select[Any], tuple[Any, ...]]], page: PageParams
) -> tuple[list[list[Any]], int]:
    """One page of a list made of several kinds one after another (users, then teams, …):
    the sections are counted in one statement, and only the rows that fall on the page are
    fetched. Returns the page's items per section, and the total."""
    counts = await _counts(db, [stmt for stmt, _ in sections])
    offset, room = page.offset, page.limit
    out: list[list[Any]] = []
    for (stmt, order_by), n in zip(sections, counts, strict=True):
        if room <= 0 or offset >= n:
            out.append([])
            offset = max(0, offset - n)
            continue
        paged = stmt.order_by(*order_by).offset(offset).limit(room)
        items = list((await db.scalars(paged)).all())
        out.append(items)
        room -= len(items)
        offset = 0
    return out, sum(counts)


@dataclass(frozen=True)
class Paging:
    """A list route's page: its parameters, and the answer's headers, which it owns."""

    params: PageParams
    request: Request
    response: Response

    def headers(self, total: int) -> None:
        """``X-Total-Count`` and an RFC 8288 ``Link`` to the next page when there is one."""
        page = self.params
        self.response.headers["X-Total-Count"] = str(total)
        if page.offset + page.limit < total:
            nxt = page.offset + page.limit
            url = self.request.url.include_query_params(offset=nxt, limit=page.limit)
            self.response.headers["Link"] = f'<{url}>; rel="next"'

    async def fetch(
        self, db: AsyncSession, stmt: Select[*tuple[Any, ...]], *order_by: Any
    ) -> list[Any]:
        """One page of ``stmt`` in a stable order (:func:`fetch_page`), headers set."""
        items, total = await fetch_page(db, stmt, self.params, *order_by)
        self.headers(total)
        return items


def _paging(request: Request, response: Response, page: Page) -> Paging:
    return Paging(page, request, response)


Paged = Annotated[Paging, Depends(_paging)]
