"""Pages of a list with bare-array bodies plus ``X-Total-Count`` and ``Link`` (spec §1).

Two ways to ask for a page, one answer: ``offset``/``limit`` (what the ZenML clients send),
and ``cursor`` (what ``Link: rel="next"`` carries), a keyset position — the sort key of
the last item of the previous page — so a deep page costs what the first one costs.

``X-Total-Count`` is exact up to :data:`COUNT_CAP` matching items and absent above it:
counting is capped so that a page never walks the whole table (``docs/scaling.md``). Whether
there is a next page comes from fetching one item more than asked, never from the count.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query, Request, Response
from sqlalchemy import ColumnElement, Select, TypeDecorator, bindparam, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

T = TypeVar("T")

MAX_LIMIT = 1000
# Above this an offset overflows the database's 64-bit integer (a 500 on SQLite).
MAX_OFFSET = 2**62
# X-Total-Count is exact up to this many items and absent above (the largest page).
COUNT_CAP = MAX_LIMIT
CURSOR_MAX = 2048  # a 255-character name, 4 bytes a character, in base64
CURSOR_PATTERN = rf"^[A-Za-z0-9_-]{{1,{CURSOR_MAX}}}$"  # base64url, bounded


class UnknownCursor(LookupError):
    """A cursor the list did not give out: the app answers it as a 404 (``zenpro.handlers``;
    ``zenpro.routing`` documents it on every list)."""


@dataclass(frozen=True)
class PageParams:
    offset: int
    limit: int
    # As the client sent it; decoded against the list's own sort key when the list is read.
    cursor: str | None = None


async def _page_params(
    offset: Annotated[
        int, Query(ge=0, le=MAX_OFFSET, description="Items to skip (after `cursor`, if given).")
    ] = 0,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Items to return (max {MAX_LIMIT}).")
    ] = 100,
    cursor: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=CURSOR_MAX,
            pattern=CURSOR_PATTERN,
            description=(
                'Where the page starts, as the previous answer\'s `Link: rel="next"` gives it '
                "(opaque). A cursor that is not of this list's kind, or edited: 404."
            ),
        ),
    ] = None,
) -> PageParams:
    return PageParams(offset=offset, limit=limit, cursor=cursor)


Page = Annotated[PageParams, Depends(_page_params)]


@dataclass(frozen=True)
class Slice(Generic[T]):
    """One page: its items, the list's total (None: more than :data:`COUNT_CAP`), and the
    cursor of the next page (None: this is the last one)."""

    items: list[T]
    total: int | None
    next: str | None


# A section of a list: the statement and its sort key (all ascending or all descending,
# unique: ending with the id).
Section = tuple[Select[Any], tuple[Any, ...]]


def _keys(order_by: tuple[Any, ...]) -> tuple[list[ColumnElement[Any]], bool]:
    """The sort key's expressions, and whether it is descending."""
    exprs, desc = [], set()
    for o in order_by:
        is_desc = isinstance(o, UnaryExpression) and o.modifier is operators.desc_op
        exprs.append(o.element if is_desc else o)
        desc.add(is_desc)
    assert len(desc) == 1, "a sort key runs one way"
    return exprs, desc.pop()


def _fingerprint(order_by: tuple[Any, ...]) -> str:
    """Which sort key a cursor belongs to: a cursor of one list is not read by another."""
    text = "|".join(str(o) for o in order_by)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _encode_value(v: Any) -> Any:
    if isinstance(v, datetime):
        return ["d", v.astimezone(UTC).isoformat()]
    if isinstance(v, uuid.UUID):
        return ["u", v.hex]
    if isinstance(v, str):
        return ["s", v]
    raise TypeError(f"no cursor form for {type(v).__name__}")  # a list sorted by what?


def _python_type(expr: ColumnElement[Any]) -> type:
    t = expr.type
    impl = t.impl if isinstance(t, TypeDecorator) else t
    try:
        known: Any = impl.python_type
    except NotImplementedError:
        return object
    return known if isinstance(known, type) else object


def _decode_value(tagged: Any, expr: ColumnElement[Any]) -> Any:
    """One sort-key value back, or ValueError if it is not one of this column's."""
    if not (isinstance(tagged, list) and len(tagged) == 2 and isinstance(tagged[1], str)):
        raise ValueError("not a value")
    tag, raw = tagged
    want = _python_type(expr)
    if tag == "d" and want is datetime:
        value = datetime.fromisoformat(raw)
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if tag == "u" and want is uuid.UUID:
        return uuid.UUID(hex=raw)
    if tag == "s" and want is str:
        if "\x00" in raw:
            raise ValueError("NUL")
        raw.encode("utf-8")  # no lone surrogates
        return raw
    raise ValueError("wrong kind")


def _cursor(index: int, order_by: tuple[Any, ...], values: tuple[Any, ...]) -> str:
    data = [_fingerprint(order_by), index, *(_encode_value(v) for v in values)]
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(cursor: str, sections: list[Section]) -> tuple[int, tuple[Any, ...]]:
    """The section and sort-key values a cursor names; 404 if it is not one of this list's."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        if not isinstance(data, list) or len(data) < 2:
            raise ValueError("not a cursor")
        fp, index, *tagged = data
        if not isinstance(index, int) or not 0 <= index < len(sections):
            raise ValueError("no such section")
        order_by = sections[index][1]
        exprs, _ = _keys(order_by)
        if fp != _fingerprint(order_by) or len(tagged) != len(exprs):
            raise ValueError("another list's cursor")
        values = tuple(_decode_value(t, e) for t, e in zip(tagged, exprs, strict=True))
    # RecursionError: JSON nested deeper than the parser goes (a real cursor is flat)
    except (
        ValueError,
        TypeError,
        OverflowError,
        RecursionError,
        binascii.Error,
        UnicodeError,
    ) as exc:
        raise UnknownCursor(
            "No such page: `cursor` is not one this list gave out (it is opaque: take it from "
            'the `Link: rel="next"` header as it is); start again without it'
        ) from exc
    return index, values


def _capped(stmt: Select[Any]) -> Select[int]:
    """How many rows ``stmt`` has, counting no further than one past the cap."""
    return select(func.count()).select_from(stmt.order_by(None).limit(COUNT_CAP + 1).subquery())


def _exact(stmt: Select[Any]) -> Select[int]:
    return select(func.count()).select_from(stmt.order_by(None).subquery())


async def _counts(db: AsyncSession, stmts: list[Select[Any]]) -> list[int]:
    """Each statement's row count up to the cap + 1, all in one round trip."""
    row = (await db.execute(select(*(_capped(s).scalar_subquery() for s in stmts)))).one()
    return [int(n or 0) for n in row]


def _seeking(section: Section, after: tuple[Any, ...]) -> Select[Any]:
    """The section's rows after the sort-key values ``after``."""
    stmt, order_by = section
    exprs, desc = _keys(order_by)
    bound = tuple_(*(bindparam(None, v, type_=e.type) for v, e in zip(after, exprs, strict=True)))
    seek = tuple_(*exprs)
    return stmt.where(seek < bound if desc else seek > bound)


async def _rows(
    db: AsyncSession,
    stmt: Select[Any],
    order_by: tuple[Any, ...],
    offset: int,
    n: int,
    whole: bool,
    counting: Select[Any] | None = None,
) -> tuple[list[tuple[Any, tuple[Any, ...]]], int | None]:
    """Up to ``n`` (item, sort-key values) of ``stmt`` in order, skipping ``offset``; with
    ``counting``, also that statement's capped count, in the same statement (None when no
    row came back to carry it)."""
    exprs, _ = _keys(order_by)
    width = len(stmt.column_descriptions)
    keyed = stmt.add_columns(*(e.label(f"_key{i}") for i, e in enumerate(exprs)))
    if counting is not None:
        keyed = keyed.add_columns(_capped(counting).scalar_subquery().label("_total"))
    result = (await db.execute(keyed.order_by(*order_by).offset(offset).limit(n))).all()
    keys = slice(width, width + len(exprs))
    got = [(tuple(row[:width]) if whole else row[0], tuple(row[keys])) for row in result]
    counted = int(result[0][-1]) if counting is not None and result else None
    return got, counted


Found = list[tuple[int, Any, tuple[Any, ...]]]  # (section, item, sort-key values)


async def fetch_sections(
    db: AsyncSession, sections: list[Section], page: PageParams, *, rows: bool = False
) -> tuple[list[list[Any]], Slice[Any]]:
    """One page of a list made of several kinds one after another (users, then teams, …),
    counted up to the cap; only the rows that fall on the page are fetched. Returns the
    page's items per section, and the page."""
    if len(sections) == 1:
        found, counted = await _one_kind(db, sections[0], page, rows)
    else:
        found, counted = await _across(db, sections, page, rows)
    nxt = None
    if len(found) > page.limit:  # one more was fetched: there is a next page
        found = found[: page.limit]
        index, _, key = found[-1]
        nxt = _cursor(index, sections[index][1], key)
    per: list[list[Any]] = [[] for _ in sections]
    for index, item, _ in found:
        per[index].append(item)
    total = counted if counted <= COUNT_CAP else None
    return per, Slice([item for _, item, _ in found], total, nxt)


async def _one_kind(
    db: AsyncSession, section: Section, page: PageParams, rows: bool
) -> tuple[Found, int]:
    """The page and the list's capped count in one statement (a second one only for a page
    that comes back empty)."""
    stmt, order_by = section
    after = None if page.cursor is None else _after(page.cursor, [section])[1]
    seek = stmt if after is None else _seeking(section, after)
    got, counted = await _rows(db, seek, order_by, page.offset, page.limit + 1, rows, stmt)
    if counted is None:
        counted = int(await db.scalar(_capped(stmt)) or 0)
    return [(0, item, key) for item, key in got], counted


async def _across(
    db: AsyncSession, sections: list[Section], page: PageParams, rows: bool
) -> tuple[Found, int]:
    """Several kinds: counted first (capped, one statement), so that an offset skips whole
    sections unread."""
    counts = await _counts(db, [stmt for stmt, _ in sections])
    start, after = (0, None) if page.cursor is None else _after(page.cursor, sections)
    offset, room = page.offset, page.limit + 1  # one more: is there a next page?
    found: Found = []
    for index in range(start, len(sections)):
        if room <= 0:
            break
        stmt, order_by = sections[index]
        n: int | None = counts[index]
        if index == start and after is not None:
            stmt, n = _seeking(sections[index], after), None
        if offset > 0:
            if n is None or (n > COUNT_CAP and offset >= n):  # a deep offset: the true count
                n = int(await db.scalar(_exact(stmt)) or 0)
            if offset >= n:
                offset -= n
                continue
        elif n == 0:
            continue
        got, _ = await _rows(db, stmt, order_by, offset, room, rows)
        found += [(index, item, key) for item, key in got]
        room -= len(got)
        offset = 0
    return found, sum(counts)


async def fetch_page(
    db: AsyncSession,
    stmt: Select[*tuple[Any, ...]],
    page: PageParams,
    *order_by: Any,
    rows: bool = False,
) -> Slice[Any]:
    """One page of ``stmt`` in a stable order (``order_by``, ending with the id). Items are
    the first selected entity, or whole rows (tuples) with ``rows=True``."""
    _, sliced = await fetch_sections(db, [(stmt, order_by)], page, rows=rows)
    return sliced


@dataclass(frozen=True)
class Paging:
    """A list route's page: its parameters, and the answer's headers, which it owns."""

    params: PageParams
    request: Request
    response: Response

    def headers(self, page: Slice[Any], *, by_offset: bool = False) -> None:
        """``X-Total-Count`` (up to the cap) and an RFC 8288 ``Link`` to the next page, by
        cursor (``by_offset``: by offset), when there is one."""
        if page.total is not None:
            self.response.headers["X-Total-Count"] = str(page.total)
        if page.next is not None:
            p = self.params
            url = (
                self.request.url.include_query_params(offset=p.offset + p.limit, limit=p.limit)
                if by_offset
                else self.request.url.remove_query_params("offset").include_query_params(
                    cursor=page.next, limit=p.limit
                )
            )
            self.response.headers["Link"] = f'<{url}>; rel="next"'

    async def fetch(
        self,
        db: AsyncSession,
        stmt: Select[*tuple[Any, ...]],
        *order_by: Any,
        by_offset: bool = False,
    ) -> list[Any]:
        """One page of ``stmt`` in a stable order (:func:`fetch_page`), headers set.

        ``by_offset``: for a caller from whom the answer hides a sort-key value (an id), the
        list neither hands out nor takes cursors: a cursor carries the last item's key, and a
        cursor the caller writes is a seek, which answers "is the next key above this one?"
        (an oracle for the hidden value, a bit per request)."""
        if by_offset and self.params.cursor is not None:
            raise UnknownCursor(
                "No such page: this list pages by `offset` for you (it shows you no ids); "
                "start again without `cursor`"
            )
        page = await fetch_page(db, stmt, self.params, *order_by)
        self.headers(page, by_offset=by_offset)
        return page.items


async def paging(request: Request, response: Response, page: Page) -> Paging:
    """The dependency of a list route (its fetch may raise :class:`UnknownCursor`)."""
    return Paging(page, request, response)


Paged = Annotated[Paging, Depends(paging)]
