"""Seed a benchmark dataset fast: bulk INSERTs of ORM tables, one shared password hash."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text
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
    Organization,
    RoleAssignment,
    Share,
    Token,
    User,
    Workspace,
)

SIZES: dict[str, dict[str, int]] = {
    "1k": {"users": 1_000, "orgs": 100, "workspaces": 200, "assignments": 5_000, "shares": 500},
    "100k": {
        "users": 100_000,
        "orgs": 10_000,
        "workspaces": 20_000,
        "assignments": 500_000,
        "shares": 50_000,
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
            for i, w in enumerate(workspaces)
        ],
    )
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
    seeded = replace(seeded, other_user_id=users[1], elsewhere=tuple(far))
    # A live database has planner statistics (autovacuum); fresh bulk loads do not yet.
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("ANALYZE"))
    return seeded


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
