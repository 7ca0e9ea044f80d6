from __future__ import annotations

import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.authz import assign
from tests.fixtures.factories import bearer, make_user, token_for
from tests.fixtures.orgs import create_invitation_via_api, create_org_via_api, create_team_via_api
from zenpro.authz.vocabulary import ORG_MEMBER_ID


async def test_team_crud_and_members(
    client: httpx.AsyncClient, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    team = await create_team_via_api(client, alice_headers, org["id"], "devs")
    assert team["member_count"] == 0
    assert team["organization_id"] == org["id"]
    dup = {"name": "devs", "organization_id": org["id"]}
    assert (await client.post("/teams", json=dup, headers=alice_headers)).status_code == 409
    bob = await make_user(db, "bob")
    await assign(db, ORG_MEMBER_ID, org["id"], user=bob)
    url = f"/teams/{team['id']}/members"
    r = await client.post(url, params={"user_id": str(bob.id)}, headers=alice_headers)
    assert r.status_code == 200
    assert r.json() == {}
    r = await client.post(url, params={"user_id": str(bob.id)}, headers=alice_headers)
    assert r.status_code == 409
    # exactly one of user_id / invitation_id
    assert (await client.post(url, headers=alice_headers)).status_code == 422
    both = {"user_id": str(bob.id), "invitation_id": str(uuid.uuid4())}
    assert (await client.post(url, params=both, headers=alice_headers)).status_code == 422
    # a stranger cannot be pulled into the org through a team
    carol = await make_user(db, "carol")
    r = await client.post(url, params={"user_id": str(carol.id)}, headers=alice_headers)
    assert r.status_code == 404
    inv = await create_invitation_via_api(client, alice_headers, org["id"], "dave@example.com")
    r = await client.post(url, params={"invitation_id": inv["id"]}, headers=alice_headers)
    assert r.status_code == 200
    r = await client.get(url, headers=alice_headers)
    assert sorted(m["email"] for m in r.json()) == ["bob@example.com", "dave@example.com"]
    assert (await client.get(f"/teams/{team['id']}", headers=alice_headers)).json()[
        "member_count"
    ] == 2
    r = await client.patch(
        f"/teams/{team['id']}", json={"description": "Developers"}, headers=alice_headers
    )
    assert r.status_code == 200
    assert r.json()["description"] == "Developers"
    # bob: in the team → sees it; may not change it
    bob_h = bearer(await token_for(db, bob))
    assert (await client.get(f"/teams/{team['id']}", headers=bob_h)).status_code == 200
    r = await client.patch(f"/teams/{team['id']}", json={"description": "x"}, headers=bob_h)
    assert r.status_code == 403
    other = await create_team_via_api(client, alice_headers, org["id"], "ops")
    assert (await client.get(f"/teams/{other['id']}", headers=bob_h)).status_code == 404
    r = await client.get(f"/organizations/{org['id']}/teams", headers=bob_h)
    assert [t["name"] for t in r.json()] == ["devs"]
    r = await client.get(f"/organizations/{org['id']}/teams", headers=alice_headers)
    assert [t["name"] for t in r.json()] == ["devs", "ops"]
    assert r.headers["X-Total-Count"] == "2"
    r = await client.delete(url, params={"user_id": str(bob.id)}, headers=alice_headers)
    assert r.status_code == 200
    r = await client.delete(url, params={"user_id": str(bob.id)}, headers=alice_headers)
    assert r.status_code == 404
    assert (await client.delete(f"/teams/{team['id']}", headers=alice_headers)).status_code == 200
    assert (await client.get(f"/teams/{team['id']}", headers=alice_headers)).status_code == 404


async def test_bad_team_input(client: httpx.AsyncClient, alice_headers: dict[str, str]) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    for body in ({"name": "No\nway", "organization_id": org["id"]}, {"name": "x"}, {}):
        assert (await client.post("/teams", json=body, headers=alice_headers)).status_code == 422
    missing = {"name": "x", "organization_id": str(uuid.uuid4())}
    assert (await client.post("/teams", json=missing, headers=alice_headers)).status_code == 404
    assert (await client.get("/teams/not-a-uuid", headers=alice_headers)).status_code == 404
