"""Pages of a list: ``?offset=`` in the address, a fixed page size, previous/next links."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query, Request

from zenpro.console.html import Markup, h, join
from zenpro.console.layout import url
from zenpro.kit.pagination import MAX_OFFSET, PageParams

PAGE_SIZE = 25
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")]


def params(offset: int) -> PageParams:
    return PageParams(offset=offset, limit=PAGE_SIZE)


def pager(request: Request, path: str, offset: int, total: int, **query: str) -> Markup:
    """Where the page is in the list ("Showing 1 to 25 of 60") and links to the
    neighbouring pages (nothing when everything fits on one page)."""
    if total <= PAGE_SIZE and offset == 0:
        return Markup("")
    keep = {k: v for k, v in query.items() if v}
    links = []
    if offset > 0:
        prev = urlencode({**keep, "offset": max(0, offset - PAGE_SIZE)})
        links.append(
            h('<a href="$u" rel="prev">Previous page</a>', u=f"{url(request, path)}?{prev}")
        )
    if offset + PAGE_SIZE < total:
        nxt = urlencode({**keep, "offset": offset + PAGE_SIZE})
        links.append(h('<a href="$u" rel="next">Next page</a>', u=f"{url(request, path)}?{nxt}"))
    shown = h(
        "<p>Showing $a to $b of $n</p>",
        a=min(offset + 1, total),
        b=min(offset + PAGE_SIZE, total),
        n=total,
    )
    return h('<nav class="pager" aria-label="Pages">$s$l</nav>', s=shown, l=join(links))


Notice = Annotated[str | None, Query(max_length=32, description="Which message to show.")]
