"""A person at the console, over httpx: a session cookie, same-origin form posts carrying
the CSRF token scraped from the page, as a browser sends them."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import BASE_URL
from tests.fixtures.authz import assign
from tests.fixtures.factories import make_user, token_for
from tests.security.world import snapshot
from zenpro.auth.deps import COOKIE_NAME
from zenpro.models import Organization, User

ORG_VIEWER_ID = uuid.UUID("00000000-0000-4000-8000-000000000003")
HTML = {"Accept": "text/html"}
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]*)"')


@dataclass
class Person:
    client: httpx.AsyncClient
    user: User
    cookie: str
    pages: list[str] = field(default_factory=list)

    def _use_cookie(self) -> None:
        self.client.cookies.clear()
        self.client.cookies.set(COOKIE_NAME, self.cookie)

    async def get(self, path: str, **params: str) -> httpx.Response:
        self._use_cookie()
        r = await self.client.get(path, params=params, headers=HTML)
        self.pages.append(path)
        return r

    async def csrf(self, path: str = "/console") -> str:
        r = await self.get(path)
        found = _CSRF.search(r.text)
        assert found, f"no CSRF token on {path}: {r.status_code}"
        return found.group(1)

    async def post(
        self, path: str, data: dict[str, str] | None = None, *, token: str | None = None
    ) -> httpx.Response:
        """A same-origin form post with this session's token (``token`` overrides it)."""
        fields = {"csrf_token": token if token is not None else await self.csrf(), **(data or {})}
        self._use_cookie()
        return await self.client.post(path, data=fields, headers={**HTML, "Origin": BASE_URL})


async def person(client: httpx.AsyncClient, db: AsyncSession, name: str, **kw: object) -> Person:
    user = await make_user(db, f"{name}-{uuid.uuid4().hex[:6]}", **kw)  # type: ignore[arg-type]
    return Person(client, user, await token_for(db, user))


async def read_one(db: AsyncSession, stmt: Any) -> Any:
    """One row, then end the test's transaction (on SQLite an open one would hold the
    write lock the app's next request waits for)."""
    found = await db.scalar(stmt)
    await db.commit()
    return found


def text_of(html: str) -> str:
    """The page's visible words (tags dropped, whitespace folded), for assertions."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def forms_of(html: str) -> list[str]:
    """The action of every post form on the page."""
    return re.findall(r'<form[^>]*method="post"[^>]*action="([^"]+)"', html)


def assert_says(r: httpx.Response, status: int, words: str) -> None:
    """``r`` answered ``status``, and its page says ``words``."""
    assert r.status_code == status
    assert words in text_of(r.text)


def assert_invalid(r: httpx.Response) -> None:
    """A form refused as invalid (400), a field marked for screen readers."""
    assert r.status_code == 400
    assert 'aria-invalid="true"' in r.text


def assert_read_only(r: httpx.Response) -> None:
    """A page (200) that offers no form but signing out."""
    assert r.status_code == 200
    assert forms_of(r.text) == ["/console/logout"]


async def make_viewer(db: AsyncSession, org_id: str, who: Person) -> Organization:
    """``who`` made an Organization Viewer of the organization ``org_id``."""
    org = await read_one(db, select(Organization).where(Organization.id == uuid.UUID(org_id)))
    assert org is not None
    await assign(db, ORG_VIEWER_ID, org, user=who.user)
    return org  # type: ignore[no-any-return]


async def assert_posts_refused(
    db: AsyncSession,
    who: Person,
    posts: Iterable[tuple[str, dict[str, str]]],
    refusals: tuple[int, ...] = (403,),
) -> None:
    """Each post, with ``who``'s own valid token (so only the guards refuse), answers one
    of ``refusals``, and nothing in the database changes."""
    before = await snapshot(db)
    token = await who.csrf()
    for path, data in posts:
        r = await who.post(path, data, token=token)
        assert r.status_code in refusals, (path, r.status_code)
    assert await snapshot(db) == before
