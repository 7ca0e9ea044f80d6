"""Service-account pages: create, keys (secret once, working), rotation with and without
retention, revocation, deactivation; a Viewer has no forms and is refused."""

from __future__ import annotations

import re
import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.console.support import (
    Person,
    assert_posts_refused,
    assert_read_only,
    forms_of,
    make_viewer,
    person,
    text_of,
)
from tests.console.test_pages import _org, ann
from tests.fixtures.factories import bearer

__all__ = ["ann"]  # the fixture
SECRET = re.compile(r'<pre class="secret" tabindex="0">(ZENPROKEY_[^<]+)</pre>')


async def _works(client: httpx.AsyncClient, org_id: str, secret: str) -> int:
    client.cookies.clear()
    return (await client.get(f"/organizations/{org_id}", headers=bearer(secret))).status_code


async def test_keys_are_shown_once_rotate_and_stop(
    ann: Person, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org_id = await _org(ann)
    base = f"/console/organizations/{org_id}/service_accounts"
    made = await ann.post(base, {"name": "ci-bot", "description": "CI"})
    assert made.status_code == 303
    sa_path = made.headers["location"].split("?")[0]
    dup = await ann.post(base, {"name": "ci-bot"})
    assert dup.status_code == 409
    key = await ann.post(f"{sa_path}/api_keys", {"name": "deploy"})
    assert key.status_code == 200
    first = SECRET.search(key.text)
    assert first
    assert await _works(client, org_id, first.group(1)) == 200
    page = await ann.get(sa_path)
    assert first.group(1) not in page.text
    key_id = re.search(r'name="key_id" value="([0-9a-f-]{36})"', page.text)
    assert key_id

    kept = await ann.post(
        f"{sa_path}/api_keys/rotate", {"key_id": key_id.group(1), "retain_period_minutes": "5"}
    )
    second = SECRET.search(kept.text)
    assert second
    assert "the old secret works for 5 more minutes" in text_of(kept.text)
    assert await _works(client, org_id, first.group(1)) == 200  # within the retention
    assert await _works(client, org_id, second.group(1)) == 200
    cut = await ann.post(
        f"{sa_path}/api_keys/rotate", {"key_id": key_id.group(1), "retain_period_minutes": "0"}
    )
    third = SECRET.search(cut.text)
    assert third
    assert await _works(client, org_id, second.group(1)) == 401  # no retention: stops
    assert await _works(client, org_id, third.group(1)) == 200

    assert (await ann.post(f"{sa_path}/deactivate")).status_code == 303
    assert await _works(client, org_id, third.group(1)) == 401
    assert (await ann.post(f"{sa_path}/reactivate")).status_code == 303
    assert await _works(client, org_id, third.group(1)) == 200
    revoked = await ann.post(f"{sa_path}/api_keys/delete", {"key_id": key_id.group(1)})
    assert revoked.status_code == 303
    assert await _works(client, org_id, third.group(1)) == 401


async def test_a_viewer_reads_service_accounts_but_cannot_change_them(
    ann: Person, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org_id = await _org(ann)
    base = f"/console/organizations/{org_id}/service_accounts"
    sa_path = (await ann.post(base, {"name": "bot-2"})).headers["location"].split("?")[0]
    await ann.post(f"{sa_path}/api_keys", {"name": "k"})
    vic = await person(client, db, "vic")
    await make_viewer(db, org_id, vic)
    assert_read_only(await vic.get(sa_path))
    assert forms_of((await vic.get(base)).text) == ["/console/logout"]
    key_id = str(uuid.uuid4())
    posts = [
        (base, {"name": "evil"}),
        (f"{sa_path}/api_keys", {"name": "evil"}),
        (f"{sa_path}/api_keys/rotate", {"key_id": key_id}),
        (f"{sa_path}/api_keys/delete", {"key_id": key_id}),
        (f"{sa_path}/deactivate", {}),
        (f"{sa_path}/delete", {}),
    ]
    await assert_posts_refused(db, vic, posts)
