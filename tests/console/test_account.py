"""My account: sessions (revoke), personal access tokens (secret once, delete), the
password, CLI devices (revoke) and invitations to accept."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.console.support import Person, assert_invalid, assert_says, person, text_of
from tests.console.test_pages import _org, ann
from tests.fixtures.factories import PASSWORD, bearer, token_for
from tests.security.world import snapshot
from zenpro.kit.db import utcnow
from zenpro.models import Device

__all__ = ["ann"]  # the fixture
NEW = "a-new-Pa55word-for-ann"


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


async def test_password_change_keeps_this_session_and_ends_the_others(
    ann: Person, db: AsyncSession
) -> None:
    other_session = await token_for(db, ann.user)
    page = await ann.get("/console/account")
    assert "Change password" in page.text
    wrong = await ann.post(
        "/console/account/password",
        {"old_password": "nope", "password": NEW, "confirm": NEW},
    )
    assert_says(wrong, 403, "old_password is not your current password")
    assert NEW not in wrong.text  # passwords are never sent back
    differ = await ann.post(
        "/console/account/password",
        {"old_password": PASSWORD, "password": NEW, "confirm": NEW + "x"},
    )
    assert_invalid(differ)
    short = await ann.post(
        "/console/account/password", {"old_password": PASSWORD, "password": "x", "confirm": "x"}
    )
    assert_invalid(short)
    done = await ann.post(
        "/console/account/password",
        {"old_password": PASSWORD, "password": NEW, "confirm": NEW},
    )
    assert done.status_code == 303
    assert (await ann.get("/console/account")).status_code == 200  # this session lives on
    ann.client.cookies.clear()
    assert (await ann.client.get("/users/me", headers=bearer(other_session))).status_code == 401
    login = await ann.client.post(
        "/auth/login", data={"username": ann.user.username, "password": NEW}
    )
    assert login.status_code == 200, login.text


async def test_cli_devices_are_listed_and_revoked(
    ann: Person, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    device = Device(
        client_id="zenml-cli",
        device_code_hash=uuid.uuid4().hex,
        user_code="ABCD-EFGH",
        status="approved",
        user_id=ann.user.id,
        expires=utcnow() + timedelta(minutes=5),
        user_agent="zenml/0.98",
        ip="10.0.0.7",
    )
    db.add(device)
    await db.flush()
    device_id = str(device.id)
    await db.commit()
    page = await ann.get("/console/account")
    assert "zenml-cli zenml/0.98 10.0.0.7 Approved" in text_of(page.text)
    stranger = await person(client, db, "eve")
    before = await snapshot(db)
    forged = await stranger.post("/console/account/devices/revoke", {"device_id": device_id})
    assert forged.status_code == 404
    assert await snapshot(db) == before
    done = await ann.post("/console/account/devices/revoke", {"device_id": device_id})
    assert done.status_code == 303
    assert "No device has asked" in (await ann.get("/console/account")).text


async def test_pending_invitations_are_listed_and_accepted(
    ann: Person, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org_id = await _org(ann, "Inviting Org")
    bob = await person(client, db, "bob")
    sent = await ann.post(
        f"/console/organizations/{org_id}/invitations", {"email": bob.user.email or ""}
    )
    assert sent.status_code == 200
    mine = await bob.get("/console/account")
    assert "Invitations for you" in mine.text
    accept = re.search(r'action="(/console/invitations/[0-9a-f-]{36}/accept)"', mine.text)
    assert accept
    assert "Invitations for you" not in (await ann.get("/console/account")).text
    done = await bob.post(accept.group(1))
    assert done.status_code == 303
    assert "Invitations for you" not in (await bob.get("/console/account")).text
