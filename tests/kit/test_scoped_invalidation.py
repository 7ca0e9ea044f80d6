"""A write drops the cached answers it can change, not every tenant's (issue 18).

Three levels: the cache's own bookkeeping (tags, untagged entries, the guard on slow
loads); a write in one organization leaves another's cached grants alone while a write in
the same organization drops them, on both backends and across two instances sharing one
database; and a seeded random walk of writes of every kind the checker depends on, each
followed by questions answered through the real endpoint (caches warm, fast lane) and
compared with the same questions answered without any cache.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.fixtures.authz import assign, machine_token, make_org, make_team, make_workspace
from tests.fixtures.factories import bearer, make_user, token_for
from tests.support.apps import asgi_client, make_settings, started
from zenpro.authz.vocabulary import (
    ORG_MEMBER_ID,
    WORKSPACE_ADMIN_ID,
    WORKSPACE_VIEWER_ID,
    Level,
)
from zenpro.kit.cache import ALL, EVERYTHING, GRANTS, EpochCache
from zenpro.kit.lookup import Loading
from zenpro.models import Role, RoleAssignment, Share, TeamMember, User, Workspace
from zenpro.rbac import repository as rbac_repo
from zenpro.rbac import service as rbac
from zenpro.roles import repository as roles_repo

# ---- the cache's bookkeeping, no database ----


def test_a_change_drops_what_is_tagged_with_it_and_whatever_is_untagged() -> None:
    cache = EpochCache()
    cache.put(GRANTS, "a", 1, 0, frozenset({"o:a", "u:1"}))
    cache.put(GRANTS, "b", 2, 0, frozenset({"o:b", "u:2"}))
    cache.put(GRANTS, "plain", 3, 0)  # no tags: any change drops it
    cache.changed(GRANTS, frozenset({"o:b"}))
    assert cache.get(GRANTS, "a") == 1
    assert cache.get(GRANTS, "b") is None
    assert cache.get(GRANTS, "plain") is None
    cache.changed(GRANTS, EVERYTHING)
    assert cache.get(GRANTS, "a") is None


def test_a_slow_load_is_stored_only_if_nothing_it_depends_on_moved_meanwhile() -> None:
    cache = EpochCache()
    seen = cache.epochs[GRANTS]
    cache.changed(GRANTS, frozenset({"o:elsewhere"}))
    cache.put(GRANTS, "mine", "fresh enough", seen, frozenset({"o:mine"}))
    assert cache.get(GRANTS, "mine") == "fresh enough"
    seen = cache.epochs[GRANTS]
    cache.changed(GRANTS, frozenset({"o:mine"}))
    cache.put(GRANTS, "again", "stale", seen, frozenset({"o:mine"}))
    assert cache.get(GRANTS, "again") is None
    seen = cache.epochs[GRANTS]
    cache.changed(GRANTS, frozenset({"o:elsewhere"}))
    cache.put(GRANTS, "untagged", "unknown", seen)  # cannot tell: not stored
    assert cache.get(GRANTS, "untagged") is None


def test_a_load_older_than_the_remembered_history_is_not_stored() -> None:
    cache = EpochCache()
    seen = cache.epochs[GRANTS]
    for i in range(2000):  # more than the history holds
        cache.changed(GRANTS, frozenset({f"o:{i}"}))
    cache.put(GRANTS, "old", "value", seen, frozenset({"o:mine"}))
    assert cache.get(GRANTS, "old") is None


def test_a_read_with_change_rows_missing_drops_everything() -> None:
    cache = EpochCache()
    cache._absorb([("grants", 5, None, None), ("auth", 1, None, None)])  # first read
    cache.put(GRANTS, "k", 1, cache.epochs[GRANTS], frozenset({"o:a"}))
    cache._absorb([("grants", 6, 6, "o:b"), ("auth", 1, None, None)])
    assert cache.get(GRANTS, "k") == 1  # o:b only
    cache._absorb([("grants", 8, 8, "o:b"), ("auth", 1, None, None)])  # seq 7 pruned
    assert cache.get(GRANTS, "k") is None
    cache.put(GRANTS, "k", 1, cache.epochs[GRANTS], frozenset({"o:a"}))
    cache._absorb([("grants", 9, 9, ALL), ("auth", 1, None, None)])
    assert cache.get(GRANTS, "k") is None


# ---- one organization's writes against another's cached grants ----


async def _checked(client: httpx.AsyncClient, token: str, user: User, rtype: str) -> bool:
    r = await client.post(
        "/rbac/check_permissions",
        params={"user_id": str(user.id), "action": "read"},
        json=[rtype],
        headers=bearer(token),
    )
    assert r.status_code == 200, r.text
    return bool(r.json()[rtype])


def _cached(app: FastAPI, user: User) -> bool:
    return app.state.cache.get(GRANTS, ("user-grants", user.id)) is not None


async def test_a_grant_elsewhere_leaves_cached_grants_alone_and_one_here_drops_them(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    owner_a, owner_b, a, b, c = [await make_user(db) for _ in range(5)]
    org_a, org_b = await make_org(db, owner_a), await make_org(db, owner_b)
    ws_a = await make_workspace(db, org_a)
    await assign(db, WORKSPACE_VIEWER_ID, org_a, user=a, workspace=ws_a)
    token = await machine_token(db, ws_a)
    assert await _checked(client, token, a, "stack")
    assert _cached(app, a)

    await assign(db, ORG_MEMBER_ID, org_b, user=b)  # another organization, another user
    assert await app.state.cache.fresh()
    assert _cached(app, a)
    assert await _checked(client, token, a, "stack")

    await assign(db, ORG_MEMBER_ID, org_a, user=c)  # a's organization: a's entry goes
    assert await app.state.cache.fresh()
    assert not _cached(app, a)

    assert await _checked(client, token, a, "stack")
    gone = await db.scalar(
        select(RoleAssignment).where(
            RoleAssignment.user_id == a.id, RoleAssignment.role_id == WORKSPACE_VIEWER_ID
        )
    )
    assert gone is not None
    await db.delete(gone)
    await db.commit()
    assert not await _checked(client, token, a, "stack")  # the very next request


async def test_two_instances_share_scoped_invalidation(db: AsyncSession, database_url: str) -> None:
    owner_a, owner_b, a, b = [await make_user(db) for _ in range(4)]
    org_a, org_b = await make_org(db, owner_a), await make_org(db, owner_b)
    ws_a = await make_workspace(db, org_a)
    await assign(db, WORKSPACE_VIEWER_ID, org_a, user=a, workspace=ws_a)
    token = await machine_token(db, ws_a)
    b_team = await make_team(db, org_b, b)  # (a team's own writes touch everything)
    async with (
        started(make_settings(database_url)) as one,
        started(make_settings(database_url)) as two,
        asgi_client(one) as c1,
        asgi_client(two) as c2,
    ):
        assert await _checked(c2, token, a, "stack")
        assert _cached(two, a)
        # a write through instance one, in org B: instance two keeps a's grants
        made = await c1.post(
            f"/teams/{b_team.id}/members",
            params={"user_id": str(owner_b.id)},
            headers=bearer(await token_for(db, owner_b)),
        )
        assert made.status_code < 300, made.text
        assert await two.state.cache.fresh()
        assert _cached(two, a)
        # a revocation through instance one is honoured by instance two's next request
        held = await db.scalar(select(RoleAssignment).where(RoleAssignment.user_id == a.id))
        assert held is not None
        owner = bearer(await token_for(db, owner_a))
        revoked = await c1.delete(
            f"/roles/{held.role_id}/assignments",
            params={
                "user_id": str(a.id),
                "organization_id": str(org_a.id),
                "workspace_id": str(ws_a.id),
            },
            headers=owner,
        )
        assert revoked.status_code == 200, revoked.text
        assert not await _checked(c2, token, a, "stack")


async def test_deleting_a_team_ends_what_was_shared_with_it(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """The team's shares and memberships go by ON DELETE CASCADE, which no row names."""
    owner, member = await make_user(db), await make_user(db)
    org = await make_org(db, owner)
    ws = await make_workspace(db, org)
    team = await make_team(db, org, member)
    rid = uuid.uuid4()
    db.add(Share.grant(ws.id, "stack", rid, "read", team_id=team.id))
    await db.commit()
    token = await machine_token(db, ws)
    assert await _checked(client, token, member, f"stack/{rid}")
    assert await _checked(client, token, member, f"stack/{rid}")  # from the caches
    gone = await client.delete(f"/teams/{team.id}", headers=bearer(await token_for(db, owner)))
    assert gone.status_code == 200, gone.text
    assert not await _checked(client, token, member, f"stack/{rid}")


async def test_deleting_an_organization_ends_its_workspaces_credentials(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """Its workspaces and their machine tokens go by ON DELETE CASCADE: the cached
    credential must not outlive them (a credential dies with what it came from)."""
    owner, user = await make_user(db), await make_user(db)
    org = await make_org(db, owner)
    ws = await make_workspace(db, org)
    await assign(db, WORKSPACE_VIEWER_ID, org, user=user, workspace=ws)
    token = await machine_token(db, ws)
    assert await _checked(client, token, user, "stack")
    assert await _checked(client, token, user, "stack")  # from the caches
    gone = await client.delete(
        f"/organizations/{org.id}",
        params={"force": "true"},
        headers=bearer(await token_for(db, owner)),
    )
    assert gone.status_code == 200, gone.text
    r = await client.post(
        "/rbac/check_permissions",
        params={"user_id": str(user.id), "action": "read"},
        json=["stack"],
        headers=bearer(token),
    )
    assert r.status_code == 401, r.text


# ---- a random walk of writes, each followed by questions: cached equals uncached ----

STEPS = 60
PROJECT = uuid.UUID(int=99)
TYPES = ("stack", "secret", "flavor", f"{PROJECT}:pipeline")


async def test_cached_answers_track_every_kind_of_write(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    rng = random.Random(18)
    users = [await make_user(db) for _ in range(5)]
    orgs = [await make_org(db, users[i]) for i in range(3)]
    spaces = [await make_workspace(db, org) for org in orgs for _ in range(2)]
    teams = [await make_team(db, org) for org in orgs]
    custom = []
    for org in orgs:
        role = Role(name=f"custom-{org.name}", level=Level.workspace.value, organization_id=org.id)
        db.add(role)
        await db.flush()
        custom.append(role)
    await db.commit()
    tokens = {ws.id: await machine_token(db, ws) for ws in spaces}
    plain = async_sessionmaker(app.state.engine, expire_on_commit=False)  # no cache at all

    def org_of(ws: Workspace) -> uuid.UUID:
        return ws.organization_id

    async def grant_user() -> None:
        ws = rng.choice(spaces)
        role = rng.choice(
            [
                WORKSPACE_VIEWER_ID,
                WORKSPACE_ADMIN_ID,
                *(r.id for r in custom if r.organization_id == org_of(ws)),
            ]
        )
        await _toggle(
            db,
            RoleAssignment.grant(
                role, organization_id=org_of(ws), user_id=rng.choice(users).id, workspace_id=ws.id
            ),
        )

    async def grant_team() -> None:
        team = rng.choice(teams)
        ws = rng.choice([w for w in spaces if w.organization_id == team.organization_id])
        await _toggle(
            db,
            RoleAssignment.grant(
                WORKSPACE_VIEWER_ID,
                organization_id=team.organization_id,
                team_id=team.id,
                workspace_id=ws.id,
            ),
        )

    async def membership() -> None:
        team, user = rng.choice(teams), rng.choice(users)
        found = await db.scalar(
            select(TeamMember).where(TeamMember.team_id == team.id, TeamMember.user_id == user.id)
        )
        if found is None:
            db.add(TeamMember(team_id=team.id, user_id=user.id))
        else:
            await db.delete(found)
        await db.commit()

    async def permissions() -> None:
        role = rng.choice(custom)
        kinds = ("stack", "secret", "flavor", "pipeline")
        pairs = {(t, a) for t in kinds for a in ("read", "update") if rng.random() < 0.4}
        await roles_repo.replace_permissions(db, role.id, pairs)  # a bulk delete, scoped
        await db.commit()

    async def shared() -> None:
        ws, user = rng.choice(spaces), rng.choice(users)
        rid = uuid.UUID(int=rng.randrange(4))
        if rng.random() < 0.5:
            await rbac_repo.forget(db, ws.id, "stack", rid)
        else:
            row = Share.grant(ws.id, "stack", rid, "read", user_id=user.id)
            held = await db.scalar(select(Share).where(Share.share_key == row.share_key))
            db.add(row) if held is None else await db.delete(held)
        await db.commit()

    async def activity() -> None:
        user = rng.choice(users[3:])  # never an owner
        user.is_active = not user.is_active
        await db.commit()

    writes: list[Callable[[], object]] = [
        grant_user,
        grant_team,
        membership,
        permissions,
        shared,
        activity,
    ]
    resources = sorted({*TYPES, *(f"stack/{uuid.UUID(int=i)}" for i in range(4))})
    compared = allowed = 0
    for _ in range(STEPS):
        await rng.choice(writes)()  # type: ignore[misc]
        action = rng.choice(("read", "update"))
        # every user in every workspace: whatever was cached before the write is asked
        for ws in spaces:
            for user in users:
                r = await client.post(
                    "/rbac/check_permissions",
                    params={"user_id": str(user.id), "action": action},
                    json=resources,
                    headers=bearer(tokens[ws.id]),
                )
                assert r.status_code == 200, r.text
                async with plain() as fresh:
                    look = Loading(fresh)
                    want = await rbac.check_permissions(look, ws.id, user.id, action, resources)
                assert r.json() == want, (user.id, ws.id, action)
                compared += 1
                allowed += sum(want.values())
    assert compared == STEPS * len(spaces) * len(users)
    assert 0 < allowed < compared * len(resources)  # both answers occur
    assert app.state.fastlane_served > 0  # the cached path was the one compared


async def _toggle(db: AsyncSession, row: RoleAssignment) -> None:
    """Grant the assignment, or revoke it when it is held."""
    found = await db.scalar(select(RoleAssignment).where(RoleAssignment.scope_key == row.scope_key))
    if found is None:
        db.add(row)
    else:
        await db.delete(found)
    await db.commit()
