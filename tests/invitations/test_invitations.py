from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.factories import bearer, make_user, token_for
from tests.fixtures.orgs import create_org_via_api, create_team_via_api, create_ws_via_api
from tests.fixtures.roles import ORG_MANAGER as MANAGER
from zenpro.authz.vocabulary import ORG_MEMBER_ID, WORKSPACE_ADMIN_ID
from zenpro.kit.db import utcnow
from zenpro.models import Invitation, RoleAssignment
from zenpro.models.role_alias import alias_id


async def _invite(
    client: httpx.AsyncClient, headers: dict[str, str], org_id: str, email: str, **body: str
) -> httpx.Response:
    return await client.post(
        f"/organizations/{org_id}/invitations", json={"email": email, **body}, headers=headers
    )


async def test_accept_moves_roles_and_teams(
    client: httpx.AsyncClient, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    team = await create_team_via_api(client, alice_headers, org["id"], "devs")
    r = await _invite(client, alice_headers, org["id"], "Bob@Example.com", role_id=str(MANAGER))
    assert r.status_code == 201
    inv = r.json()
    assert inv["invite_link"] == f"http://testserver/invitations/{inv['id']}"
    assert [x["role"]["name"] for x in inv["roles"]] == ["Organization Manager"]
    assert inv["inviter"]["username"] == "alice"
    assert inv["accepted"] is False
    r = await client.post(
        f"/teams/{team['id']}/members", params={"invitation_id": inv["id"]}, headers=alice_headers
    )
    assert r.status_code == 200
    assert (await _invite(client, alice_headers, org["id"], "bob@example.com")).status_code == 409

    bob = await make_user(db, "bob", email="bob@example.com")
    bob_h = bearer(await token_for(db, bob))
    bob_id = bob.id
    assert (await client.get(f"/organizations/{org['id']}", headers=bob_h)).status_code == 404
    r = await client.get(f"/invitations/{inv['id']}", headers=bob_h)
    assert r.status_code == 200
    assert r.json()["teams"] == [{"id": team["id"], "name": "devs"}]
    r = await client.post(f"/invitations/{inv['id']}/accept", headers=bob_h)
    assert r.status_code == 200
    assert r.json()["accepted"] is True
    assert (await client.get(f"/organizations/{org['id']}", headers=bob_h)).status_code == 200
    r = await client.get(f"/teams/{team['id']}/members", headers=bob_h)
    assert [m["user"]["id"] for m in r.json()] == [str(bob_id)]
    ras = list(await db.scalars(select(RoleAssignment).where(RoleAssignment.user_id == bob_id)))
    await db.commit()
    assert [ra.role_id for ra in ras] == [MANAGER]
    want = RoleAssignment.grant(MANAGER, organization_id=uuid.UUID(org["id"]), user_id=bob_id)
    assert ras[0].scope_key == want.scope_key
    # Manager may now create workspaces; the invitation is spent.
    await create_ws_via_api(client, bob_h, org["id"], "bobs")
    r = await client.post(f"/invitations/{inv['id']}/accept", headers=bob_h)
    assert r.status_code == 409


async def test_default_role_wrong_email_expired(
    client: httpx.AsyncClient, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    inv = (await _invite(client, alice_headers, org["id"], "carol@example.com")).json()
    assert [x["role"]["id"] for x in inv["roles"]] == [
        str(alias_id(uuid.UUID(org["id"]), ORG_MEMBER_ID))
    ]
    mallory = await make_user(db, "mallory")
    m_h = bearer(await token_for(db, mallory))
    assert (await client.post(f"/invitations/{inv['id']}/accept", headers=m_h)).status_code == 404
    assert (await client.get(f"/invitations/{inv['id']}", headers=m_h)).status_code == 404
    carol = await make_user(db, "carol", email="carol@example.com")
    c_h = bearer(await token_for(db, carol))
    await db.execute(
        update(Invitation)
        .where(Invitation.id == uuid.UUID(inv["id"]))
        .values(expires=utcnow() - timedelta(minutes=1))
    )
    await db.commit()
    r = await client.post(f"/invitations/{inv['id']}/accept", headers=c_h)
    assert r.status_code == 410
    assert "expired" in r.json()["detail"][1]
    assert (await client.get(f"/organizations/{org['id']}", headers=c_h)).status_code == 404
    assert (
        await client.post(f"/invitations/{uuid.uuid4()}/accept", headers=c_h)
    ).status_code == 404
    assert (await client.post("/invitations/nope/accept", headers=c_h)).status_code == 422


async def test_list_filter_delete_and_role_rules(
    client: httpx.AsyncClient, alice_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    base = f"/organizations/{org['id']}/invitations"
    a = (await _invite(client, alice_headers, org["id"], "a@example.com")).json()
    await _invite(client, alice_headers, org["id"], "b@example.com")
    r = await client.get(base, params={"email": "A@example.com"}, headers=alice_headers)
    assert [i["id"] for i in r.json()] == [a["id"]]
    r = await client.get(base, params={"only_pending": "True"}, headers=alice_headers)
    assert r.headers["X-Total-Count"] == "2"
    r = await _invite(
        client, alice_headers, org["id"], "c@example.com", role_id=str(WORKSPACE_ADMIN_ID)
    )
    assert r.status_code == 409  # the role's level: state no request schema can know
    assert "organization-level" in r.json()["detail"][1]
    r = await _invite(client, alice_headers, org["id"], "c@example.com", role_id=str(uuid.uuid4()))
    assert r.status_code == 404
    assert (await _invite(client, alice_headers, org["id"], "not-an-email")).status_code == 422
    assert (await client.delete(f"{base}/{a['id']}", headers=alice_headers)).status_code == 200
    assert (await client.delete(f"{base}/{a['id']}", headers=alice_headers)).status_code == 404
    r = await client.get(base, headers=alice_headers)
    assert r.headers["X-Total-Count"] == "1"
