"""Pages of a list: ``?offset=`` in the address, a fixed page size, previous/next links."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request

from zenpro.console.html import Markup, h, join
from zenpro.console.layout import url
from zenpro.kit.pagination import COUNT_CAP, MAX_OFFSET, PageParams, Slice

PAGE_SIZE = 25
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")]


def params(offset: int) -> PageParams:
    return PageParams(offset=offset, limit=PAGE_SIZE)


def pager(request: Request, path: str, offset: int, page: Slice[Any], **query: str) -> Markup:
    """Where the page is in the list ("Showing 1 to 25 of 60", "… of more than 1000" past
    the count's cap) and links to the neighbouring pages (nothing when everything fits on
    one page)."""
    if page.next is None and offset == 0:
        return Markup("")
    keep = {k: v for k, v in query.items() if v}
    links = []
    if offset > 0:
        prev = urlencode({**keep, "offset": max(0, offset - PAGE_SIZE)})
        links.append(
            h('<a href="$u" rel="prev">Previous page</a>', u=f"{url(request, path)}?{prev}")
        )
    if page.next is not None:
        nxt = urlencode({**keep, "offset": offset + PAGE_SIZE})
        links.append(h('<a href="$u" rel="next">Next page</a>', u=f"{url(request, path)}?{nxt}"))
    n = page.total if page.total is not None else f"more than {COUNT_CAP}"
    shown = (
        h("<p>Showing $a to $b of $n</p>", a=offset + 1, b=offset + len(page.items), n=n)
        if page.items
        else h("<p>Nothing past item $a of $n</p>", a=offset, n=n)
    )
    return h('<nav class="pager" aria-label="Pages">$s$l</nav>', s=shown, l=join(links))


Notice = Annotated[str | None, Query(max_length=32, description="Which message to show.")]
