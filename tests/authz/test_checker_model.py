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

from tests.fixtures.authz import (
    assignment_row,
    machine_token,
    make_org,
    make_workspace,
    share,
)
from tests.fixtures.factories import bearer, make_user, token_for
from zenpro.authz.checker import load_user_grants
from zenpro.authz.vocabulary import (
    GLOBAL_TYPES,
    LEVEL_ACTIONS,
    LEVEL_TYPES,
    PROJECT_TYPES,
    SYSTEM_ROLES,
    WORKSPACE_ACTIONS,
    Level,
)
from zenpro.models import Role, RolePermission, Team, TeamMember

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
    assignment_orgs: list[uuid.UUID] = field(default_factory=list)  # parallel to assignments
    team_orgs: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    workspace_orgs: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)

    def member_orgs(self, user: uuid.UUID) -> set[uuid.UUID]:
        """Spec §6 as authz/membership.py states it: any assignment (direct or through a
        team, any scope), a team, or a share in one of the organization's workspaces."""
        orgs = {
            org
            for (_, a_user, a_team, _, _), org in zip(
                self.assignments, self.assignment_orgs, strict=True
            )
            if self.holds(user, a_user, a_team)
        }
        orgs |= {self.team_orgs[t] for t, members in self.team_members.items() if user in members}
        orgs |= {self.workspace_orgs[s[0]] for s in self.shares if s[1] == user}
        return orgs

    def member_workspaces(self, user: uuid.UUID) -> set[uuid.UUID]:
        held = {a[3] for a in self.assignments if a[3] and self.holds(user, a[1], a[2])}
        return held | {s[0] for s in self.shares if s[1] == user}

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
            world.team_orgs[team.id] = org.id
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
        row = assignment_row(role_id, org, user=a_user, team=a_team, workspace=ws, project_id=proj)
        if row.scope_key in used_keys:
            continue
        used_keys.add(row.scope_key)
        db.add(row)
        await db.flush()
        world.assignments.append((role_id, a_user, a_team, ws.id if ws else None, proj))
        world.assignment_orgs.append(org.id)
    all_ws = [w for ws in workspaces.values() for w in ws]
    world.workspace_orgs = {w.id: w.organization_id for w in all_ws}
    for _ in range(10):
        ws = rng.choice(all_ws)
        rtype = rng.choice(sorted(GLOBAL_TYPES | PROJECT_TYPES))
        rid, action = rng.choice(ids), rng.choice(WORKSPACE_ACTIONS)
        user = rng.choice(users)
        if (ws.id, user.id, None, rtype, rid, action) in world.shares:
            continue
        await share(db, ws, user, rtype, rid, action)
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


async def test_membership_is_one_rule_everywhere(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """The checker's membership (guards, 404s), the organization list's SQL (``GET
    /organizations``) and the model agree for every user of random worlds (issue 14)."""
    compared = 0
    for seed in SEEDS:
        rng = random.Random(1000 + seed)
        world, users, canary, *_ = await _build(db, rng)
        for user in [*users, canary]:
            expected_orgs = world.member_orgs(user.id)
            grants = await load_user_grants(db, user.id)
            assert grants.member_orgs == expected_orgs, (seed, user.username)
            assert grants.member_workspaces == world.member_workspaces(user.id)
            listed = await client.get("/organizations", headers=bearer(await token_for(db, user)))
            assert listed.status_code == 200, listed.text
            assert {uuid.UUID(o["id"]) for o in listed.json()} == expected_orgs
            compared += 1
        assert world.member_orgs(canary.id) == set()
    assert compared == len(SEEDS) * 6
