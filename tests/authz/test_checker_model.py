"""The checker against an independent, tiny in-memory model, over random worlds.

Seeded generator: each seed builds a random world (organizations, workspaces, projects,
teams, custom and system roles, assignments at every scope, shares) in the database, then
asks the real ``/rbac/check_permissions`` endpoint many questions and compares every answer
with the model below. A canary user who is never granted anything must be denied everywhere.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.authz import machine_token, make_org, make_workspace
from tests.fixtures.factories import bearer, make_user
from zenpro.authz.vocabulary import (
    GLOBAL_TYPES,
    LEVEL_ACTIONS,
    LEVEL_TYPES,
    PROJECT_TYPES,
    SYSTEM_ROLES,
    WORKSPACE_ACTIONS,
    Level,
)
from zenpro.models import Role, RoleAssignment, RolePermission, Share, Team, TeamMember

SEEDS = range(6)
QUESTIONS_PER_WORLD = 120  # 6 x 120 = 720 cases


# ---- the independent model: straight from spec §6, no shared code with the checker ----
@dataclass
class World:
    roles: dict[uuid.UUID, tuple[str, set[tuple[str, str]]]] = field(default_factory=dict)
    # (role, user|None, team|None, workspace|None, project|None)
    assignments: list[
        tuple[uuid.UUID, uuid.UUID | None, uuid.UUID | None, uuid.UUID | None, uuid.UUID | None]
    ] = field(default_factory=list)
    team_members: dict[uuid.UUID, set[uuid.UUID]] = field(default_factory=dict)
    # (workspace, user|None, team|None, type, id, action)
    shares: set[tuple[uuid.UUID, uuid.UUID | None, uuid.UUID | None, str, uuid.UUID, str]] = field(
        default_factory=set
    )

    def holds(self, user: uuid.UUID, a_user: uuid.UUID | None, a_team: uuid.UUID | None) -> bool:
        return a_user == user or (a_team is not None and user in self.team_members[a_team])

    def allowed(self, user: uuid.UUID, ws: uuid.UUID, resource: str, action: str) -> bool:
        project, rest = resource.split(":", 1) if ":" in resource else (None, resource)
        rtype, rid = rest.split("/", 1) if "/" in rest else (rest, None)
        for role_id, a_user, a_team, a_ws, a_proj in self.assignments:
            if not self.holds(user, a_user, a_team) or a_ws != ws:
                continue
            level, pairs = self.roles[role_id]
            if level == "workspace" and (rtype, action) in pairs:
                return True
            in_project = project is not None and a_proj == uuid.UUID(project)
            if level == "project" and in_project and (rtype, action) in pairs:
                return True
            reads_own_project = rtype == "project" and action == "read" and rid is not None
            if level == "project" and reads_own_project and a_proj == uuid.UUID(str(rid)):
                return True
        if rid is None:
            return False
        return any(
            s_ws == ws
            and self.holds(user, s_user, s_team)
            and (s_type, s_id, s_act) == (rtype, uuid.UUID(rid), action)
            for s_ws, s_user, s_team, s_type, s_id, s_act in self.shares
        )


async def _build(db: AsyncSession, rng: random.Random):  # type: ignore[no-untyped-def]
    world = World()
    for r in SYSTEM_ROLES:
        world.roles[r.id] = (r.level.value, set(r.permissions))
    owner = await make_user(db, f"owner{rng.random()}")
    users = [await make_user(db, f"u{i}-{rng.random()}") for i in range(5)]
    canary = await make_user(db, f"canary-{rng.random()}")
    orgs = [await make_org(db, owner) for _ in range(2)]
    workspaces = {o.id: [await make_workspace(db, o) for _ in range(2)] for o in orgs}
    projects = {
        w.id: [uuid.UUID(int=rng.getrandbits(128)) for _ in range(3)]
        for ws in workspaces.values()
        for w in ws
    }
    ids = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(6)]
    teams = []
    for org in orgs:
        for _ in range(2):
            team = Team(name=f"t{rng.getrandbits(32)}", organization_id=org.id)
            db.add(team)
            await db.flush()
            members = set(rng.sample([u.id for u in users], rng.randint(0, 3)))
            db.add_all(TeamMember(team_id=team.id, user_id=m) for m in members)
            world.team_members[team.id] = members
            teams.append((org.id, team.id))
    custom_by_org: dict[uuid.UUID, list[uuid.UUID]] = {
        o.id: [r.id for r in SYSTEM_ROLES] for o in orgs
    }
    for org in orgs:
        for _ in range(3):
            level = rng.choice(list(Level))
            types, actions = sorted(LEVEL_TYPES[level]), LEVEL_ACTIONS[level]
            pairs = {(rng.choice(types), rng.choice(actions)) for _ in range(rng.randint(1, 12))}
            role = Role(
                name=f"r{rng.getrandbits(32)}",
                organization_id=org.id,
                level=level.value,
                system_managed=False,
            )
            db.add(role)
            await db.flush()
            db.add_all(RolePermission(role_id=role.id, resource_type=t, action=a) for t, a in pairs)
            world.roles[role.id] = (level.value, pairs)
            custom_by_org[org.id].append(role.id)
    await db.commit()
    used_keys: set[str] = set()
    for _ in range(14):
        org = rng.choice(orgs)
        role_id = rng.choice(custom_by_org[org.id])
        level = world.roles[role_id][0]
        ws = rng.choice(workspaces[org.id]) if level != "organization" else None
        proj = rng.choice(projects[ws.id]) if level == "project" and ws else None
        team_choice = [t for o, t in teams if o == org.id]
        if rng.random() < 0.3:
            a_user, a_team = None, rng.choice(team_choice)
        else:
            a_user, a_team = rng.choice(users).id, None
        key = RoleAssignment.make_scope_key(
            role_id,
            organization_id=org.id,
            user_id=a_user,
            team_id=a_team,
            workspace_id=ws.id if ws else None,
            project_id=proj,
        )
        if key in used_keys:
            continue
        used_keys.add(key)
        db.add(
            RoleAssignment(
                role_id=role_id,
                organization_id=org.id,
                user_id=a_user,
                team_id=a_team,
                workspace_id=ws.id if ws else None,
                project_id=proj,
                scope_key=key,
            )
        )
        await db.flush()
        world.assignments.append((role_id, a_user, a_team, ws.id if ws else None, proj))
    all_ws = [w for ws in workspaces.values() for w in ws]
    for _ in range(10):
        ws = rng.choice(all_ws)
        rtype = rng.choice(sorted(GLOBAL_TYPES | PROJECT_TYPES))
        rid, action = rng.choice(ids), rng.choice(WORKSPACE_ACTIONS)
        user = rng.choice(users)
        share_key = f"{ws.id.hex}:u{user.id.hex}:{rtype}:{rid.hex}:{action}"
        if (ws.id, user.id, None, rtype, rid, action) in world.shares:
            continue
        db.add(
            Share(
                workspace_id=ws.id,
                user_id=user.id,
                resource_type=rtype,
                resource_id=rid,
                action=action,
                share_key=share_key,
            )
        )
        world.shares.add((ws.id, user.id, None, rtype, rid, action))
    await db.commit()
    return world, users, canary, all_ws, projects, ids


def _resource(rng: random.Random, projects: list[uuid.UUID], ids: list[uuid.UUID]) -> str:
    rtype = rng.choice(sorted(GLOBAL_TYPES | PROJECT_TYPES))
    if rtype == "project" and rng.random() < 0.5:
        return f"project/{rng.choice(projects)}"
    suffix = f"/{rng.choice(ids)}" if rng.random() < 0.6 else ""
    prefix = f"{rng.choice(projects)}:" if rtype in PROJECT_TYPES else ""
    return f"{prefix}{rtype}{suffix}"


async def test_checker_agrees_with_the_model(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI
) -> None:
    served_before = app.state.fastlane_served
    cases = allowed = 0
    for seed in SEEDS:
        rng = random.Random(seed)
        world, users, canary, all_ws, projects, ids = await _build(db, rng)
        tokens = {ws.id: bearer(await machine_token(db, ws)) for ws in all_ws}
        for _ in range(QUESTIONS_PER_WORLD // 6):
            ws = rng.choice(all_ws)
            user = rng.choice([*users, canary])
            action = rng.choice(WORKSPACE_ACTIONS)
            batch = sorted({_resource(rng, projects[ws.id], ids) for _ in range(6)})
            r = await client.post(
                "/rbac/check_permissions",
                params={"user_id": str(user.id), "action": action},
                json=batch,
                headers=tokens[ws.id],
            )
            assert r.status_code == 200, r.text
            assert set(r.json()) == set(batch)
            for resource in batch:
                expected = world.allowed(user.id, ws.id, resource, action)
                if user is canary:
                    assert expected is False
                assert r.json()[resource] is expected, (seed, user.username, resource, action)
                cases += 1
                allowed += expected
    assert cases >= 500
    # Both answers must be common, or the comparison proves little.
    assert 0.05 * cases < allowed < 0.95 * cases, (allowed, cases)
    # Repeated questions are answered from the caches by the fast lane (on both backends):
    # the model has checked that path too.
    assert app.state.fastlane_served > served_before
