"""No path to more power than you hold (issue 12, findings 1, 2, 4, 5 and 12).

``M`` is an Organization Manager of organization ``A``. Each test is one way M tried to
become Organization Admin (or hand that power to someone) on the code before the fix;
each now gets 403 and changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.authz import assign, join, machine_token, make_org, make_team, make_workspace
from tests.fixtures.factories import bearer, make_user, token_for
from tests.fixtures.orgs import assign_via_api
from tests.fixtures.roles import ORG_MANAGER as MANAGER
from tests.fixtures.roles import ORG_VIEWER as VIEWER
from tests.fixtures.roles import WS_VIEWER
from zenpro.authz.vocabulary import ORG_ADMIN_ID, WORKSPACE_ADMIN_ID
from zenpro.models import APIKey, Organization, RoleAssignment, TeamMember, User


@dataclass
class OrgA:
    org: Organization
    owner: User
    m: User
    owner_h: dict[str, str]
    m_h: dict[str, str]


async def _org_a(db: AsyncSession) -> OrgA:
    owner, m = await make_user(db), await make_user(db)
    org = await make_org(db, owner)
    await assign(db, MANAGER, org, user=m)
    return OrgA(org, owner, m, bearer(await token_for(db, owner)), bearer(await token_for(db, m)))


def _org_role(a: OrgA, name: str, permissions: list[dict[str, Any]]) -> dict[str, Any]:
    """The body of a custom organization-level role in ``a``'s organization."""
    return {
        "organization_id": str(a.org.id),
        "name": name,
        "level": "organization",
        "permissions": permissions,
    }


async def _is_admin(client: httpx.AsyncClient, a: OrgA) -> bool:
    r = await client.get(
        "/permissions",
        params={"organization_id": str(a.org.id), "resource": "billing", "action": "delete"},
        headers=a.m_h,
    )
    assert r.status_code == 200, r.text
    return bool(r.json()[0]["allowed"])


async def test_an_invitation_cannot_carry_a_role_the_inviter_lacks(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    a = await _org_a(db)
    for email in (a.m.email, "outsider@example.com"):
        r = await client.post(
            f"/organizations/{a.org.id}/invitations",
            json={"email": email, "role_id": str(ORG_ADMIN_ID)},
            headers=a.m_h,
        )
        assert r.status_code == 403, r.text
        assert "holds more than you do" in r.json()["detail"][1]
    ok = await client.post(
        f"/organizations/{a.org.id}/invitations",
        json={"email": "colleague@example.com", "role_id": str(VIEWER)},
        headers=a.m_h,
    )
    assert ok.status_code == 201, ok.text
    assert not await _is_admin(client, a)


async def test_a_custom_role_cannot_be_widened_past_its_editor(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    a = await _org_a(db)
    reader = [{"resource_type": "organization", "actions": ["read"]}]
    created = await client.post("/roles", json=_org_role(a, "reader", reader), headers=a.m_h)
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    mine = await assign_via_api(client, rid, a.m_h, user=a.m)
    assert mine.status_code == 201, mine.text
    everything = [
        {"resource_type": t, "actions": ["create", "read", "update", "delete"]}
        for t in ("organization", "workspace", "team", "member", "role", "service_account")
    ] + [{"resource_type": "billing", "actions": ["create", "read", "update", "delete"]}]
    widened = await client.patch(f"/roles/{rid}", json={"permissions": everything}, headers=a.m_h)
    assert widened.status_code == 403, widened.text
    assert not await _is_admin(client, a)
    # Creating such a role outright is refused too.
    outright = await client.post("/roles", json=_org_role(a, "all", everything), headers=a.m_h)
    assert outright.status_code == 403, outright.text
    # Narrowing, or widening within what M holds, is fine.
    within = [{"resource_type": "team", "actions": ["read", "update"]}]
    assert (
        await client.patch(f"/roles/{rid}", json={"permissions": within}, headers=a.m_h)
    ).status_code == 200


async def test_an_edit_is_checked_where_the_role_is_assigned(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """A Manager administers every workspace, but a role's organization pairs are only
    theirs to add if they hold them: the owner assigned the role, M may not widen it."""
    a = await _org_a(db)
    team_reader = [{"resource_type": "team", "actions": ["read"]}]
    created = await client.post("/roles", json=_org_role(a, "ops", team_reader), headers=a.owner_h)
    rid = created.json()["id"]
    target = await make_user(db)
    await join(db, a.org, target)
    assigned = await assign_via_api(client, rid, a.owner_h, user=target)
    assert assigned.status_code == 201, assigned.text
    billing = [{"resource_type": "billing", "actions": ["read"]}]
    r = await client.patch(f"/roles/{rid}", json={"permissions": billing}, headers=a.m_h)
    assert r.status_code == 403, r.text


async def test_no_key_for_a_service_account_more_powerful_than_you(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    a = await _org_a(db)
    base = f"/organizations/{a.org.id}/service_accounts"
    sa = await client.post(
        base, json={"name": f"ci-admin-{uuid.uuid4().hex[:6]}"}, headers=a.owner_h
    )
    assert sa.status_code == 201, sa.text
    sa_id, sa_name = sa.json()["id"], sa.json()["username"]
    admin = await assign_via_api(client, ORG_ADMIN_ID, a.owner_h, user=sa_id, org=a.org)
    assert admin.status_code == 201, admin.text
    key = await client.post(f"{base}/{sa_name}/api_keys", json={"name": "k"}, headers=a.m_h)
    assert key.status_code == 403, key.text
    owner_key = await client.post(
        f"{base}/{sa_name}/api_keys", json={"name": "k"}, headers=a.owner_h
    )
    assert owner_key.status_code == 201
    kid = owner_key.json()["id"]
    rotate = await client.post(f"{base}/{sa_name}/api_keys/{kid}/rotate", headers=a.m_h)
    assert rotate.status_code == 403, rotate.text
    # A service account holding Manager cannot mint keys for ci-admin either.
    mgr_sa = await client.post(
        base, json={"name": f"ci-mgr-{uuid.uuid4().hex[:6]}"}, headers=a.owner_h
    )
    await assign_via_api(client, MANAGER, a.owner_h, user=mgr_sa.json()["id"], org=a.org)
    mgr_key = await client.post(
        f"{base}/{mgr_sa.json()['username']}/api_keys", json={"name": "k"}, headers=a.owner_h
    )
    sa_h = bearer(mgr_key.json()["key"])
    by_sa = await client.post(f"{base}/{sa_name}/api_keys", json={"name": "k2"}, headers=sa_h)
    assert by_sa.status_code == 403, by_sa.text
    count = select(func.count()).select_from(APIKey).where(APIKey.user_id == uuid.UUID(sa_id))
    assert await db.scalar(count) == 1


async def test_joining_a_team_needs_what_the_team_holds(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    a = await _org_a(db)
    admins = await make_team(db, a.org)
    await assign(db, ORG_ADMIN_ID, a.org, team=admins)
    r = await client.post(
        f"/teams/{admins.id}/members", params={"user_id": str(a.m.id)}, headers=a.m_h
    )
    assert r.status_code == 403, r.text
    assert not await _is_admin(client, a)
    # An invitation cannot be put in the team either.
    inv = await client.post(
        f"/organizations/{a.org.id}/invitations", json={"email": "x@example.com"}, headers=a.m_h
    )
    r = await client.post(
        f"/teams/{admins.id}/members", params={"invitation_id": inv.json()["id"]}, headers=a.m_h
    )
    assert r.status_code == 403, r.text
    members = select(func.count()).select_from(TeamMember).where(TeamMember.team_id == admins.id)
    assert await db.scalar(members) == 0
    await db.commit()  # end the read: SQLite would make the next write wait on it
    # The owner may; a team of lesser power M may fill.
    assert (
        await client.post(
            f"/teams/{admins.id}/members", params={"user_id": str(a.m.id)}, headers=a.owner_h
        )
    ).status_code == 200


async def test_workspace_roles_stay_within_the_workspace_admin(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """A Workspace Admin of one workspace cannot hand out roles in another."""
    a = await _org_a(db)
    ws1, ws2 = await make_workspace(db, a.org), await make_workspace(db, a.org)
    wadmin, target = await make_user(db), await make_user(db)
    await join(db, a.org, target)
    await assign(db, WORKSPACE_ADMIN_ID, a.org, user=wadmin, workspace=ws1)
    h = bearer(await token_for(db, wadmin))
    r = await assign_via_api(client, WS_VIEWER, h, user=target, workspace=ws2)
    assert r.status_code == 403, r.text


async def test_roles_go_only_to_members_of_the_organization(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """Finding 12: an Organization Admin assigned a role to another organization's user
    (201), then read their email."""
    a = await _org_a(db)
    ws = await make_workspace(db, a.org)
    stranger = await make_user(db)
    other = await make_org(db, stranger)
    assert other.id != a.org.id
    for params in (
        {"user_id": str(stranger.id), "organization_id": str(a.org.id)},
        {"user_id": str(stranger.id), "workspace_id": str(ws.id)},
    ):
        role = VIEWER if "workspace_id" not in params else WS_VIEWER
        r = await client.post(f"/roles/{role}/assignments", params=params, headers=a.owner_h)
        assert r.status_code == 400, r.text
        assert "invite" in r.json()["detail"][1]
    seen = await client.get(f"/users/{stranger.id}", headers=a.owner_h)
    assert seen.status_code == 404
    n = select(func.count()).select_from(RoleAssignment)
    assert await db.scalar(n.where(RoleAssignment.user_id == stranger.id)) == 1  # own org


async def test_a_share_reaches_only_members_and_only_from_holders(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    a = await _org_a(db)
    ws = await make_workspace(db, a.org)
    machine = bearer(await machine_token(db, ws))
    stranger, member = await make_user(db), await make_user(db)
    await join(db, a.org, member)
    await assign(db, WS_VIEWER, a.org, user=a.m, workspace=ws)
    body = {
        "user_id": str(stranger.id),
        "sharing_user_id": str(a.m.id),
        "resource": f"stack/{uuid.uuid4()}",
        "actions": ["read"],
    }
    outsider = await client.post("/rbac/resource_members", json=body, headers=machine)
    assert outsider.status_code == 400, outsider.text
    assert (
        await client.get(
            f"/organizations/{a.org.id}", headers=bearer(await token_for(db, stranger))
        )
    ).status_code == 404
    body["user_id"] = str(member.id)
    body["actions"] = ["read", "delete"]  # a Workspace Viewer may read, not delete
    more = await client.post("/rbac/resource_members", json=body, headers=machine)
    assert more.status_code == 403, more.text
    body["actions"] = ["read"]
    ok = await client.post("/rbac/resource_members", json=body, headers=machine)
    assert ok.status_code == 200, ok.text
