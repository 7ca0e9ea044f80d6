"""Seed a benchmark dataset fast: bulk INSERTs of ORM tables, one shared password hash."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.factories import PASSWORD, password_hash
from zenpro.auth.secrets import API_KEY_PREFIX, MACHINE_PREFIX, SESSION_PREFIX, hash_secret, hint
from zenpro.authz.vocabulary import (
    ORG_ADMIN_ID,
    ORG_MEMBER_ID,
    WORKSPACE_ADMIN_ID,
    WORKSPACE_VIEWER_ID,
)
from zenpro.models import (
    APIKey,
    AuditEvent,
    Device,
    Invitation,
    Organization,
    Role,
    RoleAlias,
    RoleAssignment,
    RolePermission,
    Share,
    Team,
    TeamMember,
    Token,
    User,
    Workspace,
)
from zenpro.models.role_alias import alias_id

# ``bench``: how long each list of the bench organization and of the bench user is (its
# members, workspaces, teams, a team's members, invitations, custom roles, service accounts,
# one service account's keys, the bench user's sessions, devices and API keys): 51 per
# 1,000 users, so that at 100k a cursor at row 5,000 still has a full page after it.
SIZES: dict[str, dict[str, int]] = {
    "1k": {
        "users": 1_000,
        "orgs": 100,
        "workspaces": 200,
        "assignments": 5_000,
        "shares": 500,
        "bench": 51,
    },
    "100k": {
        "users": 100_000,
        "orgs": 10_000,
        "workspaces": 20_000,
        "assignments": 500_000,
        "shares": 50_000,
        "bench": 5_100,
    },
}
CHUNK = 5_000


@dataclass(frozen=True)
class Seeded:
    """What the benchmark needs to hit the hot endpoints as a real client would."""

    username: str
    user_id: uuid.UUID
    password: str
    session_token: str
    api_key: str
    machine_token: str
    organization_id: uuid.UUID
    workspace_id: uuid.UUID
    project_id: uuid.UUID
    admin_token: str  # a superuser's session
    other_user_id: uuid.UUID  # someone else, for GET /users/{id}
    # (organization, user) pairs far from the bench user, for the writer of the churn rows
    elsewhere: tuple[tuple[uuid.UUID, uuid.UUID], ...]
    # the lists (``_lists``): the bench organization's first team and service account
    team_id: uuid.UUID | None = None
    service_account_id: uuid.UUID | None = None
    # users spread over the dataset, for checks whose grants are not cached yet
    some_users: tuple[uuid.UUID, ...] = ()


async def _bulk(engine: AsyncEngine, model: Any, rows: list[dict[str, Any]]) -> None:
    async with engine.begin() as conn:
        for i in range(0, len(rows), CHUNK):
            await conn.execute(insert(model.__table__), rows[i : i + CHUNK])


async def seed(engine: AsyncEngine, size: str) -> Seeded:
    n = SIZES[size]
    rng = random.Random(42)
    now = datetime.now(UTC)
    pw = password_hash()
    users = [uuid.uuid4() for _ in range(n["users"])]
    await _bulk(
        engine,
        User,
        [
            {
                "id": u,
                "username": f"bench-{i}",
                "email": f"bench-{i}@example.com",
                "password_hash": pw,
                "metadata": {},
                "is_active": True,
                "is_superuser": i == len(users) - 1,  # bench-admin's session
                "is_service_account": False,
                "is_onboarded": True,
                "password_expired": False,
                "created": now,
                "updated": now,
            }
            for i, u in enumerate(users)
        ],
    )
    orgs = [uuid.uuid4() for _ in range(n["orgs"])]
    await _bulk(
        engine,
        Organization,
        [
            {
                "id": o,
                "name": f"org-{i}",
                "owner_id": users[i % len(users)],
                "created": now,
                "updated": now,
            }
            for i, o in enumerate(orgs)
        ],
    )
    workspaces = [uuid.uuid4() for _ in range(n["workspaces"])]
    ws_org = {w: orgs[i % len(orgs)] for i, w in enumerate(workspaces)}
    # the bench organization's own long list of workspaces (not picked for assignments)
    more_ws = [uuid.uuid4() for _ in range(n["bench"])]
    ws_org |= {w: orgs[0] for w in more_ws}
    await _bulk(
        engine,
        Workspace,
        [
            {
                "id": w,
                "name": f"ws-{i}",
                "organization_id": ws_org[w],
                "owner_id": users[i % len(users)],
                "is_managed": True,
                "desired_state": "available",
                "status": "available",
                "state_reason": "",
                "status_updated": now,
                "server_url": f"http://ws-{i}.workspaces.localhost",
                "server_version": "0.98.0",
                "usage_counts": {},
                "created": now,
                "updated": now,
            }
            for i, w in enumerate(workspaces + more_ws)
        ],
    )
    lists = await _org_lists(engine, n, rng, users, orgs, now)
    rows: list[dict[str, Any]] = []
    keys: set[str] = set()

    def add(
        role: uuid.UUID,
        user: uuid.UUID,
        org: uuid.UUID,
        ws: uuid.UUID | None,
        project: uuid.UUID | None = None,
    ) -> None:
        key = RoleAssignment.grant(
            role, organization_id=org, user_id=user, workspace_id=ws, project_id=project
        ).scope_key
        if key in keys:
            return
        keys.add(key)
        rows.append(
            {
                "id": uuid.uuid4(),
                "role_id": role,
                "user_id": user,
                "organization_id": org,
                "workspace_id": ws,
                "project_id": project,
                "scope_key": key,
                "created": now,
            }
        )

    for i, org in enumerate(orgs):
        add(ORG_ADMIN_ID, users[i % len(users)], org, None)
    me, my_org, my_ws = users[0], orgs[0], workspaces[0]
    project = uuid.uuid4()
    add(WORKSPACE_ADMIN_ID, me, my_org, my_ws)
    for k in range(1, 20):  # the bench user belongs to a realistic handful of workspaces
        w = workspaces[k * len(orgs) % len(workspaces)]
        add(WORKSPACE_VIEWER_ID, me, ws_org[w], w)
    while len(rows) < n["assignments"]:
        user, w = rng.choice(users), rng.choice(workspaces)
        if rng.random() < 0.3:
            add(ORG_MEMBER_ID, user, ws_org[w], None)
        else:
            add(WORKSPACE_VIEWER_ID, user, ws_org[w], w)
    # The bench organization's members and the bench workspace's: users[1..bench] hold
    # Organization Member and Workspace Viewer there; every service account is an
    # Organization Member of its organization.
    for u in users[1 : n["bench"] + 1]:
        add(ORG_MEMBER_ID, u, my_org, None)
        add(WORKSPACE_VIEWER_ID, u, my_org, my_ws)
    for sa, org in lists.service_accounts:
        add(ORG_MEMBER_ID, sa, org, None)
    await _bulk(engine, RoleAssignment, rows)
    shares: list[dict[str, Any]] = []
    share_keys: set[str] = set()
    while len(shares) < n["shares"]:
        user, w = rng.choice(users), rng.choice(workspaces)
        rid = uuid.uuid4()
        key = Share.grant(w, "stack", rid, "read", user_id=user).share_key
        if key in share_keys:
            continue
        share_keys.add(key)
        shares.append(
            {
                "id": uuid.uuid4(),
                "workspace_id": w,
                "user_id": user,
                "resource_type": "stack",
                "resource_id": rid,
                "action": "read",
                "share_key": key,
                "created": now,
            }
        )
    await _bulk(engine, Share, shares)
    seeded = await _credentials(engine, me, my_org, my_ws, project, now, users[-1])
    far = ((orgs[len(orgs) // 2 + k], users[len(users) // 2 + k]) for k in range(20))
    await _user_lists(engine, n, rng, users, orgs, me, lists.service_accounts[0][0], now)
    step = max(1, len(users) // 2_000)
    seeded = replace(
        seeded,
        other_user_id=users[1],
        elsewhere=tuple(far),
        team_id=lists.team_id,
        service_account_id=lists.service_accounts[0][0],
        some_users=tuple(users[1:-1:step]),
    )
    # A live database has planner statistics (autovacuum); fresh bulk loads do not yet.
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("ANALYZE"))
    return seeded


def _key() -> str:
    """A unique stand-in for a secret's hash (nothing logs in with these)."""
    return uuid.uuid4().hex + uuid.uuid4().hex


@dataclass(frozen=True)
class _Lists:
    team_id: uuid.UUID  # the bench organization's team with the long member list
    # (service account, its organization); the first is the bench organization's, with keys
    service_accounts: list[tuple[uuid.UUID, uuid.UUID]]


async def _org_lists(
    engine: AsyncEngine,
    n: dict[str, int],
    rng: random.Random,
    users: list[uuid.UUID],
    orgs: list[uuid.UUID],
    now: datetime,
) -> _Lists:
    """What the organization-level lists page through: service accounts, teams and their
    members, invitations, custom roles, and each organization's instances of the system
    roles. ``bench`` of each in the bench organization (orgs[0]), about one per
    organization elsewhere (invitations: users / 10 in all)."""
    bench, org0 = n["bench"], orgs[0]
    past = now - timedelta(days=30)

    def at(i: int) -> datetime:  # distinct, increasing creation times within a list
        return past + timedelta(seconds=i)

    sa_orgs = [org0] * bench + orgs[1:]
    sas = [(uuid.uuid4(), o) for o in sa_orgs]
    await _bulk(
        engine,
        User,
        [
            {
                "id": sa,
                "username": f"bench-sa-{i}",
                "email": None,
                "password_hash": None,
                "metadata": {},
                "is_active": True,
                "is_superuser": False,
                "is_service_account": True,
                "organization_id": org,
                "is_onboarded": True,
                "password_expired": False,
                "created": at(i),
                "updated": at(i),
            }
            for i, (sa, org) in enumerate(sas)
        ],
    )
    team_orgs = [org0] * bench + orgs[1:]
    teams = [(uuid.uuid4(), o) for o in team_orgs]
    await _bulk(
        engine,
        Team,
        [
            {
                "id": t,
                "organization_id": o,
                "name": f"team-{i}",
                "description": None,
                "created": at(i),
                "updated": at(i),
            }
            for i, (t, o) in enumerate(teams)
        ],
    )
    # the bench team: users[1..bench]; every other team a handful of random users (never
    # the bench user, whose grants the hot path reads)
    members = {(teams[0][0], u) for u in users[1 : bench + 1]}
    per_team = max(1, len(users) // 2 // len(teams))
    for t, _ in teams[1:]:
        for _ in range(per_team):
            members.add((t, users[rng.randrange(1, len(users))]))
    await _bulk(
        engine,
        TeamMember,
        [
            {
                "id": uuid.uuid4(),
                "team_id": t,
                "user_id": u,
                "invitation_id": None,
                "created": at(i),
            }
            for i, (t, u) in enumerate(sorted(members))
        ],
    )
    n_inv = max(bench, len(users) // 10)
    inv_orgs = [org0 if i < bench else rng.choice(orgs[1:]) for i in range(n_inv)]
    await _bulk(
        engine,
        Invitation,
        [
            {
                "id": uuid.uuid4(),
                "organization_id": o,
                "email": f"invitee-{i}@example.com",
                "inviter_id": users[0] if o == org0 else None,
                "expires": now + timedelta(days=7),
                "accepted": False,
                "accepted_by_id": None,
                "created": at(i),
            }
            for i, o in enumerate(inv_orgs)
        ],
    )
    role_orgs = [org0] * bench + orgs[1::10]  # and one in ten elsewhere
    roles = [(uuid.uuid4(), o) for o in role_orgs]
    await _bulk(
        engine,
        Role,
        [
            {
                "id": r,
                "organization_id": o,
                "name": f"custom-{i}",
                "description": None,
                "level": "workspace",
                "system_managed": False,
                "created": at(i),
                "updated": at(i),
            }
            for i, (r, o) in enumerate(roles)
        ],
    )
    await _bulk(
        engine,
        RolePermission,
        [
            {"role_id": r, "resource_type": t, "action": "read"}
            for r, _ in roles
            for t in ("stack", "pipeline")
        ],
    )
    async with engine.connect() as conn:
        system = await conn.execute(select(Role.id).where(Role.organization_id.is_(None)))
        system_ids = list(system.scalars())
    await _bulk(
        engine,
        RoleAlias,
        [
            {"id": alias_id(o, r), "organization_id": o, "role_id": r}
            for o in orgs
            for r in system_ids
        ],
    )
    return _Lists(teams[0][0], sas)


async def _user_lists(
    engine: AsyncEngine,
    n: dict[str, int],
    rng: random.Random,
    users: list[uuid.UUID],
    orgs: list[uuid.UUID],
    me: uuid.UUID,
    bench_sa: uuid.UUID,
    now: datetime,
) -> None:
    """What the user-level lists page through: ``bench`` sessions, devices and API keys of
    the bench user, and of one service account of the bench organization ``bench`` API
    keys; elsewhere one session for every second user, one device and one API key for
    every tenth. Audit events: one per user, a tenth of them in the bench organization."""
    bench = n["bench"]
    past = now - timedelta(days=30)
    others = [users[rng.randrange(1, len(users))] for _ in range(len(users) // 2)]
    owners = [me] * bench + others
    await _bulk(
        engine,
        Token,
        [
            {
                "id": uuid.uuid4(),
                "kind": "session",
                "token_hash": _key(),
                "user_id": u,
                "workspace_id": None,
                "device_id": None,
                "idle_minutes": None,
                "user_agent": "bench",
                "ip": "127.0.0.1",
                "created": past + timedelta(seconds=i),
                "last_used": past + timedelta(seconds=i),
                "expires": now + timedelta(days=1),
            }
            for i, u in enumerate(owners)
        ],
    )
    tenth = [me] * bench + others[: len(users) // 10]
    await _bulk(
        engine,
        Device,
        [
            {
                "id": uuid.uuid4(),
                "client_id": "zenml",
                "device_code_hash": _key(),
                "user_code": f"{i:08d}",
                "status": "approved",
                "user_id": u,
                "workspace_id": None,
                "expires": now + timedelta(minutes=5),
                "interval": 5,
                "last_poll": None,
                "user_agent": "bench",
                "ip": "127.0.0.1",
                "created": past + timedelta(seconds=i),
            }
            for i, u in enumerate(tenth)
        ],
    )
    await _bulk(
        engine,
        APIKey,
        [
            {
                "id": uuid.uuid4(),
                "user_id": u,
                "name": f"key-{i}",
                "description": None,
                "key_hash": _key(),
                "hint": "ZENPROKEY_…",
                "previous_key_hash": None,
                "previous_expires": None,
                "active": True,
                "expires": None,
                "last_used": None,
                "created": past + timedelta(seconds=i),
                "updated": past + timedelta(seconds=i),
            }
            for i, u in enumerate(tenth + [bench_sa] * bench)
        ],
    )
    events = len(users)
    await _bulk(
        engine,
        AuditEvent,
        [
            {
                "id": uuid.uuid4(),
                "created": past + timedelta(seconds=i),
                "organization_id": orgs[0] if i % 10 == 0 else rng.choice(orgs),
                "actor_type": "user",
                "actor_id": users[i],
                "ip": "127.0.0.1",
                "request_id": None,
                "via": None,
                "action": "update",
                "resource_type": "organization",
                "resource_id": None,
                "outcome": "success",
                "changes": {"description": [None, f"rev {i}"]},
            }
            for i in range(events)
        ],
    )


async def _credentials(
    engine: AsyncEngine,
    me: uuid.UUID,
    org: uuid.UUID,
    ws: uuid.UUID,
    project: uuid.UUID,
    now: datetime,
    admin: uuid.UUID,
) -> Seeded:
    session = SESSION_PREFIX + uuid.uuid4().hex + uuid.uuid4().hex
    admin_session = SESSION_PREFIX + uuid.uuid4().hex + uuid.uuid4().hex
    machine = MACHINE_PREFIX + uuid.uuid4().hex + uuid.uuid4().hex
    api_key = API_KEY_PREFIX + uuid.uuid4().hex + uuid.uuid4().hex
    token: dict[str, Any] = {
        "device_id": None,
        "idle_minutes": None,
        "user_agent": None,
        "ip": None,
        "created": now,
        "last_used": now,
        "expires": now + timedelta(days=1),
    }
    await _bulk(
        engine,
        Token,
        [
            {
                **token,
                "id": uuid.uuid4(),
                "kind": "session",
                "token_hash": hash_secret(session),
                "user_id": me,
                "workspace_id": None,
            },
            {
                **token,
                "id": uuid.uuid4(),
                "kind": "session",
                "token_hash": hash_secret(admin_session),
                "user_id": admin,
                "workspace_id": None,
            },
            {
                **token,
                "id": uuid.uuid4(),
                "kind": "machine",
                "token_hash": hash_secret(machine),
                "user_id": None,
                "workspace_id": ws,
            },
        ],
    )
    key: dict[str, Any] = {
        "id": uuid.uuid4(),
        "user_id": me,
        "name": "bench",
        "key_hash": hash_secret(api_key),
        "hint": hint(api_key),
        "active": True,
        "created": now,
        "updated": now,
        "description": None,
        "previous_key_hash": None,
        "previous_expires": None,
        "expires": None,
        "last_used": None,
    }
    await _bulk(engine, APIKey, [key])
    # who else and where else are the caller's to fill in (``replace``)
    return Seeded(
        "bench-0", me, PASSWORD, session, api_key, machine, org, ws, project, admin_session, me, ()
    )
