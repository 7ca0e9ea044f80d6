"""Identity: invitations bound to a verified email, no enumeration by 409s, usernames
unique ignoring case (issue 12, findings 3, 11 and 15)."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.authz import assign, make_org
from tests.fixtures.factories import PASSWORD, bearer, make_user, token_for
from tests.fixtures.roles import ORG_VIEWER as VIEWER
from zenpro.authz.vocabulary import ORG_ADMIN_ID
from zenpro.models import RoleAssignment, User


async def test_an_email_change_cannot_take_an_invitation(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    owner, viewer, outsider = await make_user(db), await make_user(db), await make_user(db)
    org = await make_org(db, owner)
    await make_org(db, outsider)
    await assign(db, VIEWER, org, user=viewer)
    owner_h = bearer(await token_for(db, owner))
    inv = await client.post(
        f"/organizations/{org.id}/invitations",
        json={"email": "New.Hire@example.com", "role_id": str(ORG_ADMIN_ID)},
        headers=owner_h,
    )
    assert inv.status_code == 201, inv.text
    inv_id = inv.json()["id"]
    # A Viewer may list invitations, but not see the ids that accepting takes.
    listed = await client.get(
        f"/organizations/{org.id}/invitations",
        params={"only_pending": "True"},
        headers=bearer(await token_for(db, viewer)),
    )
    assert listed.status_code == 200
    assert [(i["id"], i["invite_link"]) for i in listed.json()] == [(None, None)]
    owner_list = await client.get(f"/organizations/{org.id}/invitations", headers=owner_h)
    assert owner_list.json()[0]["id"] == inv_id
    for thief in (viewer, outsider):  # a member, and another org's user with the link
        h = bearer(await token_for(db, thief))
        changed = await client.patch("/users/me", json={"email": "new.hire@EXAMPLE.com"}, headers=h)
        assert changed.status_code == 200, changed.text
        assert changed.json()["email_verified"] is False
        taken = await client.post(f"/invitations/{inv_id}/accept", headers=h)
        assert taken.status_code == 403, taken.text
        assert "not verified" in taken.json()["detail"][1]
        await client.patch("/users/me", json={"email": f"{thief.username}@example.com"}, headers=h)
    admins = select(func.count()).where(RoleAssignment.role_id == ORG_ADMIN_ID)
    assert await db.scalar(admins.where(RoleAssignment.user_id.isnot(None))) == 2  # the owners
    await db.commit()


async def test_an_administrator_confirmed_email_takes_the_invitation(
    client: httpx.AsyncClient, db: AsyncSession, admin_headers: dict[str, str]
) -> None:
    owner, hire = await make_user(db), await make_user(db)
    org = await make_org(db, owner)
    inv = await client.post(
        f"/organizations/{org.id}/invitations",
        json={"email": "hire@example.com"},
        headers=bearer(await token_for(db, owner)),
    )
    h = bearer(await token_for(db, hire))
    await client.patch("/users/me", json={"email": "hire@example.com"}, headers=h)
    assert (
        await client.post(f"/invitations/{inv.json()['id']}/accept", headers=h)
    ).status_code == 403
    confirmed = await client.patch(
        f"/users/{hire.id}", json={"email_verified": True}, headers=admin_headers
    )
    assert confirmed.status_code == 200, confirmed.text
    accepted = await client.post(f"/invitations/{inv.json()['id']}/accept", headers=h)
    assert accepted.status_code == 200, accepted.text


async def test_conflicts_do_not_name_other_peoples_addresses(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    victim, me = await make_user(db, email="victim@corp.example"), await make_user(db)
    other_org_owner = await make_user(db)
    await make_org(db, other_org_owner)
    h = bearer(await token_for(db, me))
    r = await client.patch("/users/me", json={"email": "victim@corp.example"}, headers=h)
    assert r.status_code == 409
    assert "victim" not in r.text
    org = await client.post("/organizations", json={"name": "mine"}, headers=h)
    sa = await client.post(
        f"/organizations/{org.json()['id']}/service_accounts",
        json={"name": other_org_owner.username.upper()},
        headers=h,
    )
    assert sa.status_code == 409
    assert "another user" not in sa.text
    assert victim.email is not None


async def test_usernames_are_unique_ignoring_case(
    client: httpx.AsyncClient, db: AsyncSession, admin_headers: dict[str, str]
) -> None:
    await make_user(db, "admin-like")
    for name in ("Admin-Like", "ADMIN-LIKE"):
        r = await client.post(
            "/users", json={"username": name, "password": PASSWORD}, headers=admin_headers
        )
        assert r.status_code == 409, r.text
    n = select(func.count()).where(func.lower(User.username) == "admin-like")
    assert await db.scalar(n) == 1
    await db.commit()
    # and a login in any case reaches the one account
    r = await client.post("/auth/login", data={"username": "ADMIN-like", "password": PASSWORD})
    assert r.status_code == 200, r.text


async def test_a_viewer_pages_invitations_without_cursors(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """A cursor carries the last item's id, and a cursor one writes is a seek that answers
    "is the next id above this one?": a caller shown no ids pages by offset only."""
    owner, viewer = await make_user(db), await make_user(db)
    org = await make_org(db, owner)
    await assign(db, VIEWER, org, user=viewer)
    owner_h, viewer_h = bearer(await token_for(db, owner)), bearer(await token_for(db, viewer))
    for i in range(3):
        r = await client.post(
            f"/organizations/{org.id}/invitations",
            json={"email": f"g{i}@example.com"},
            headers=owner_h,
        )
        assert r.status_code == 201, r.text
    path = f"/organizations/{org.id}/invitations"
    mine = await client.get(path, params={"limit": 1}, headers=owner_h)
    assert "cursor=" in mine.headers["link"]
    theirs = await client.get(path, params={"limit": 1}, headers=viewer_h)
    link = theirs.headers["link"]
    assert "cursor=" not in link
    assert "offset=1" in link
    second = await client.get(link[1 : link.index(">")], headers=viewer_h)
    assert [i["email"] for i in second.json()] == ["g1@example.com"]
    cursor = httpx.URL(mine.headers["link"][1 : mine.headers["link"].index(">")]).params["cursor"]
    refused = await client.get(path, params={"cursor": cursor}, headers=viewer_h)
    assert refused.status_code == 404
    assert "offset" in refused.json()["detail"][1]
