"""Races: many requests for the same thing at once → one winner, the rest 409, no 500.

Through the in-process ASGI client (both backends: on PostgreSQL the requests really
overlap on separate connections; on SQLite BEGIN IMMEDIATE serializes the writers) and
through two app instances sharing one database.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.authz import join
from tests.fixtures.factories import bearer, make_user, token_for
from tests.fixtures.orgs import create_invitation_via_api, create_org_via_api, create_ws_via_api
from tests.fixtures.roles import ORG_VIEWER as VIEWER
from tests.support.apps import other_app
from zenpro.authz.vocabulary import ORG_ADMIN_ID
from zenpro.models import Invitation, Organization, Role, RoleAssignment, Team, Workspace

N = 12


async def _race(n: int, call: Callable[[int], Awaitable[httpx.Response]]) -> Counter[int]:
    responses = await asyncio.gather(*(call(i) for i in range(n)))
    for r in responses:
        assert r.status_code < 500, r.text
        if r.status_code == 409:
            assert r.json()["detail"][0] == "EntityExistsError"
    return Counter(r.status_code for r in responses)


async def _count(db: AsyncSession, stmt: Any) -> int:
    n = int(await db.scalar(stmt) or 0)
    await db.commit()
    return n


async def test_same_organization_name(
    client: httpx.AsyncClient, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    async def create(_: int) -> httpx.Response:
        return await client.post("/organizations", json={"name": "acme"}, headers=alice_headers)

    assert await _race(N, create) == Counter({201: 1, 409: N - 1})
    assert await _count(db, select(func.count()).select_from(Organization)) == 1
    # One owner, holding Organization Admin exactly once.
    stmt = select(func.count()).where(RoleAssignment.role_id == ORG_ADMIN_ID)
    assert await _count(db, stmt) == 1


async def test_same_team_role_and_workspace_names(
    client: httpx.AsyncClient, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    bodies = {
        "/teams": {"name": "devs", "organization_id": org["id"]},
        "/roles": {
            "name": "auditor",
            "organization_id": org["id"],
            "level": "organization",
            "permissions": [{"resource_type": "team", "actions": ["read"]}],
        },
        "/workspaces": {"name": "alpha", "organization_id": org["id"]},
    }
    for path, body in bodies.items():

        async def create(_: int, path: str = path, body: Any = body) -> httpx.Response:
            return await client.post(path, json=body, headers=alice_headers)

        assert await _race(N, create) == Counter({201: 1, 409: N - 1}), path
    assert await _count(db, select(func.count()).select_from(Team)) == 1
    assert await _count(db, select(func.count()).where(Role.organization_id.isnot(None))) == 1
    assert await _count(db, select(func.count()).select_from(Workspace)) == 1


async def test_one_invitation_accepted_concurrently(
    client: httpx.AsyncClient, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    invitation = await create_invitation_via_api(
        client, alice_headers, org["id"], "bob@example.com"
    )
    inv = invitation["id"]
    bob = await make_user(db, "bob", email="bob@example.com")
    bob_id = bob.id
    tokens = [bearer(await token_for(db, bob)) for _ in range(N)]

    async def accept(i: int) -> httpx.Response:
        return await client.post(f"/invitations/{inv}/accept", headers=tokens[i])

    assert await _race(N, accept) == Counter({200: 1, 409: N - 1})
    stmt = select(func.count()).where(RoleAssignment.user_id == bob_id)
    assert await _count(db, stmt) == 1
    stmt = select(func.count()).where(RoleAssignment.invitation_id.isnot(None))
    assert await _count(db, stmt) == 0
    assert await _count(db, select(func.count()).where(Invitation.accepted)) == 1


async def test_same_assignment_granted_and_revoked_concurrently(
    client: httpx.AsyncClient, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    bob = await make_user(db, "bob")
    organization = await db.get(Organization, uuid.UUID(org["id"]))
    assert organization is not None
    await join(db, organization, bob)
    params = {"user_id": str(bob.id), "organization_id": org["id"]}
    url = f"/roles/{VIEWER}/assignments"
    stmt = select(func.count()).where(
        RoleAssignment.user_id == bob.id, RoleAssignment.role_id == VIEWER
    )

    async def grant(_: int) -> httpx.Response:
        return await client.post(url, params=params, headers=alice_headers)

    async def revoke(_: int) -> httpx.Response:
        return await client.delete(url, params=params, headers=alice_headers)

    assert await _race(N, grant) == Counter({201: 1, 409: N - 1})
    assert await _count(db, stmt) == 1
    outcome = await _race(N, revoke)
    assert outcome[200] == 1, outcome
    assert outcome[200] + outcome[404] == N, outcome
    assert await _count(db, stmt) == 0
    # Mixed: grants and revocations interleaved end in a consistent state.
    mixed = await _race(N, lambda i: grant(i) if i % 2 else revoke(i))
    assert mixed[201] >= 1
    assert await _count(db, stmt) in (0, 1)


async def test_concurrent_workspace_state_transitions(
    client: httpx.AsyncClient, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    ws = await create_ws_via_api(client, alice_headers, org["id"], "alpha")

    async def delete(_: int) -> httpx.Response:
        return await client.patch(
            f"/workspaces/{ws['id']}", json={"desired_state": "deleted"}, headers=alice_headers
        )

    outcome = await _race(N, delete)
    assert outcome[200] == 1, outcome
    assert outcome[200] + outcome[409] + outcome[404] == N, outcome
    row = await db.get(Workspace, uuid.UUID(ws["id"]))
    await db.commit()
    assert row is not None
    assert row.status == "deleted"
    assert row.desired_state == "deleted"

    ws2 = await create_ws_via_api(client, alice_headers, org["id"], "beta")
    states = ["deactivated", "available"] * (N // 2)

    async def flip(i: int) -> httpx.Response:
        return await client.patch(
            f"/workspaces/{ws2['id']}", json={"desired_state": states[i]}, headers=alice_headers
        )

    outcome = await _race(N, flip)
    assert set(outcome) <= {200, 409}, outcome
    final = (await client.get(f"/workspaces/{ws2['id']}", headers=alice_headers)).json()
    assert final["desired_state"] in ("deactivated", "available")


async def test_race_across_two_instances(
    client: httpx.AsyncClient,
    db: AsyncSession,
    database_url: str,
    alice_headers: dict[str, str],
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    async with other_app(database_url) as second:
        clients = (client, second)

        async def create(i: int) -> httpx.Response:
            body = {"name": "devs", "organization_id": org["id"]}
            return await clients[i % 2].post("/teams", json=body, headers=alice_headers)

        async def create_org(i: int) -> httpx.Response:
            body = {"name": "shared"}
            return await clients[i % 2].post("/organizations", json=body, headers=alice_headers)

        assert await _race(N, create) == Counter({201: 1, 409: N - 1})
        assert await _race(N, create_org) == Counter({201: 1, 409: N - 1})
    assert await _count(db, select(func.count()).select_from(Team)) == 1
    stmt = select(func.count()).where(Organization.name == "shared")
    assert await _count(db, stmt) == 1
