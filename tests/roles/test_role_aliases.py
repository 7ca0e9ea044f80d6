"""Organization roles assigned by subject alone (issue 13, item 2): the id an organization's
role list gives is enough to assign and revoke that role there."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.authz import join, make_org, make_team
from tests.fixtures.factories import bearer, make_user, token_for
from tests.fixtures.orgs import assign_via_api
from tests.fixtures.roles import ORG_VIEWER as VIEWER
from zenpro.authz.vocabulary import ORG_ADMIN_ID
from zenpro.models import Organization, RoleAssignment, User


async def _role_ids(client: httpx.AsyncClient, h: dict[str, str], org_id: object) -> dict[str, str]:
    r = await client.get(
        f"/organizations/{org_id}/roles", params={"level": "organization"}, headers=h
    )
    assert r.status_code == 200, r.text
    return {x["name"]: x["id"] for x in r.json()}


async def _org_and_member(db: AsyncSession, owner: User) -> tuple[Organization, User]:
    org = await make_org(db, owner)
    bob = await make_user(db)
    await join(db, org, bob)
    return org, bob


async def test_a_listed_role_id_alone_assigns_and_revokes(
    client: httpx.AsyncClient, db: AsyncSession, alice: User, alice_headers: dict[str, str]
) -> None:
    org, bob = await _org_and_member(db, alice)
    ids = await _role_ids(client, alice_headers, org.id)
    admin = ids["Organization Admin"]
    assert admin != str(ORG_ADMIN_ID)
    got = await client.get(f"/roles/{admin}", headers=alice_headers)
    assert got.json()["organization_id"] == str(org.id)
    assert got.json()["name"] == "Organization Admin"
    r = await assign_via_api(client, admin, alice_headers, user=bob)
    assert r.status_code == 201, r.text
    assert r.json()["role"]["id"] == admin
    assert r.json()["organization_id"] == str(org.id)
    stored = select(RoleAssignment.role_id).where(RoleAssignment.user_id == bob.id)
    assert ORG_ADMIN_ID in set((await db.scalars(stored)).all())  # stored as the system role
    await db.commit()
    listed = await client.get(f"/roles/{admin}/assignments", headers=alice_headers)
    assert {a["user"]["id"] for a in listed.json() if a["user"]} == {str(alice.id), str(bob.id)}
    dup = await assign_via_api(client, admin, alice_headers, user=bob)
    assert dup.status_code == 409
    gone = await assign_via_api(client, admin, alice_headers, user=bob, method="DELETE")
    assert gone.status_code == 200, gone.text
    members = await client.get(f"/organizations/{org.id}/members", headers=alice_headers)
    mine = next(m for m in members.json() if m["id"] == str(alice.id))
    assert [x["id"] for x in mine["roles"]] == [admin]


async def test_teams_and_invitations_name_their_organization(
    client: httpx.AsyncClient, db: AsyncSession, alice: User, alice_headers: dict[str, str]
) -> None:
    org = await make_org(db, alice)
    team = await make_team(db, org)
    inv = await client.post(
        f"/organizations/{org.id}/invitations",
        json={"email": "n@example.com"},
        headers=alice_headers,
    )
    for params in ({"team_id": str(team.id)}, {"invitation_id": inv.json()["id"]}):
        r = await client.post(f"/roles/{VIEWER}/assignments", params=params, headers=alice_headers)
        assert r.status_code == 201, r.text
        assert r.json()["organization_id"] == str(org.id)
    n = select(func.count()).select_from(RoleAssignment).where(RoleAssignment.role_id == VIEWER)
    assert await db.scalar(n) == 2
    await db.commit()


async def test_a_user_alone_with_the_system_id_is_ambiguous(
    client: httpx.AsyncClient, db: AsyncSession, alice: User, alice_headers: dict[str, str]
) -> None:
    _, bob = await _org_and_member(db, alice)
    r = await assign_via_api(client, VIEWER, alice_headers, user=bob)
    assert r.status_code == 409  # the scope does not fit the role (no request schema can say)
    assert "GET /organizations/{id}/roles" in r.text


async def test_an_alias_is_its_organizations_only(
    client: httpx.AsyncClient, db: AsyncSession, alice: User, alice_headers: dict[str, str]
) -> None:
    org = await make_org(db, alice)
    eve = await make_user(db)
    other = await make_org(db, eve)
    eve_h = bearer(await token_for(db, eve))
    theirs = (await _role_ids(client, eve_h, other.id))["Organization Viewer"]
    assert (await client.get(f"/roles/{theirs}", headers=alice_headers)).status_code == 404
    bob = await make_user(db)
    await join(db, org, bob)
    cross = await assign_via_api(client, theirs, alice_headers, user=bob)
    assert cross.status_code == 404
    mine = (await _role_ids(client, alice_headers, org.id))["Organization Viewer"]
    mismatch = await assign_via_api(client, mine, alice_headers, user=bob, org=other)
    assert mismatch.status_code == 409
