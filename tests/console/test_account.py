"""My account: sessions (revoke) and personal access tokens (secret once, delete)."""

from __future__ import annotations

import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.console.support import Person, assert_invalid, person, text_of
from tests.console.test_pages import ann
from tests.fixtures.factories import bearer, token_for
from tests.security.world import snapshot

__all__ = ["ann"]  # the fixture


async def test_a_token_is_shown_once_works_and_can_be_deleted(ann: Person) -> None:
    made = await ann.post("/console/account/api_keys", {"name": "ci", "expires_in_minutes": "60"})
    assert made.status_code == 200
    secret = re.search(r'<pre class="secret" tabindex="0">(ZENPROKEY_[^<]+)</pre>', made.text)
    assert secret, text_of(made.text)
    me = await ann.client.get("/users/me", headers=bearer(secret.group(1)))
    assert me.status_code == 200
    listing = await ann.get("/console/account")
    assert secret.group(1) not in listing.text
    assert "ci" in text_of(listing.text)
    key_id = re.search(r'name="key_id" value="([0-9a-f-]{36})"', listing.text)
    assert key_id
    gone = await ann.post("/console/account/api_keys/delete", {"key_id": key_id.group(1)})
    assert gone.status_code == 303
    ann.client.cookies.clear()
    assert (await ann.client.get("/users/me", headers=bearer(secret.group(1)))).status_code == 401


async def test_a_bad_token_form_keeps_its_input(ann: Person) -> None:
    r = await ann.post("/console/account/api_keys", {"name": "x", "expires_in_minutes": "soon"})
    assert_invalid(r)
    assert 'value="soon"' in r.text


async def test_sessions_are_listed_and_another_one_revoked(
    ann: Person, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    other_session = await token_for(db, ann.user)
    page = await ann.get("/console/account")
    assert "This browser" in page.text
    ids = re.findall(r'name="session_id" value="([0-9a-f-]{36})"', page.text)
    assert len(ids) == 1  # the other one; the current one has no Revoke button
    stranger = await person(client, db, "eve")
    before = await snapshot(db)
    forged = await stranger.post("/console/account/sessions/revoke", {"session_id": ids[0]})
    assert forged.status_code == 404
    assert await snapshot(db) == before
    done = await ann.post("/console/account/sessions/revoke", {"session_id": ids[0]})
    assert done.status_code == 303
    ann.client.cookies.clear()
    assert (await ann.client.get("/users/me", headers=bearer(other_session))).status_code == 401
    assert (await ann.get("/console/account")).status_code == 200  # this one lives on
