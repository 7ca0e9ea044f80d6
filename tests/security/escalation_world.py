"""The world of the escalation search (``test_escalation_model.py``), and its reset.

One world for every sequence, built once straight through the ORM, then saved and put
back before each sequence (:func:`restore`): organizations A and B, each with an owner, a
Manager, a Viewer, a Member, a Workspace Admin of one workspace, a powerful service
account (A: Organization Admin; B: Manager and Billing Admin, with a share), a low-power
one, a team holding Organization Admin, lesser teams and custom roles, a pending
invitation; A has two workspaces, a "people manager" (a custom role with
``member:update`` but no workspace authority), a custom workspace role still being drafted
(no permissions) and a key that its Manager minted for the low-power account; B has one
workspace. Besides: a user with no organization, one with an unverified email, and an
outsider who owns organization C. Two projects and a few resources per workspace.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import cache
from random import Random
from typing import Any

from fastapi import FastAPI
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.fixtures import db as dbfix
from tests.fixtures.factories import bearer, password_hash
from tests.security.escalation_model import ORG, PROJECT, WS, Pair, Rows, Static
from zenpro.api_keys import service as api_keys
from zenpro.api_keys.schemas import APIKeyCreate
from zenpro.auth import service as auth_service
from zenpro.auth.principal import Credential
from zenpro.kit.db import utcnow
from zenpro.models import (
    Base,
    CacheEpoch,
    Invitation,
    Organization,
    Role,
    RoleAssignment,
    RolePermission,
    Share,
    Team,
    TeamMember,
    User,
    Workspace,
)

SYSTEM = {n: uuid.UUID(f"00000000-0000-4000-8000-{n:012d}") for n in (1, 2, 3, 4, 5, 10, 11, 13)}
ADMIN, MANAGER, VIEWER, BILLING, MEMBER = SYSTEM[1], SYSTEM[2], SYSTEM[3], SYSTEM[4], SYSTEM[5]
WS_ADMIN, WS_DEV, WS_VIEWER = SYSTEM[10], SYSTEM[11], SYSTEM[13]


@dataclass
class Person:
    """A user of the world; ``verified`` is the email an administrator set, as the walk
    knows it (None once the user changed their email themselves)."""

    id: uuid.UUID
    name: str
    home: uuid.UUID | None
    email: str | None
    verified: str | None
    headers: dict[str, str] = field(default_factory=dict)
    sa: bool = False


@dataclass
class Bearer:
    """A credential the walk can act with: whom the app sees, and which human holds it."""

    name: str
    headers: dict[str, str]
    identity: uuid.UUID
    owner: uuid.UUID
    weight: int


@dataclass
class Key:
    id: uuid.UUID
    sa: uuid.UUID
    holders: set[uuid.UUID]


@dataclass
class World:
    static: Static
    orgs: list[uuid.UUID]
    people: list[Person]
    workspaces: list[uuid.UUID]
    projects: dict[uuid.UUID, list[uuid.UUID]]
    resources: dict[uuid.UUID, list[str]]
    teams: list[uuid.UUID]
    machine: dict[uuid.UUID, dict[str, str]]
    bearers: list[Bearer]
    names: dict[uuid.UUID, str]
    roles: list[uuid.UUID]
    levels: dict[uuid.UUID, tuple[uuid.UUID | None, str]]  # role → (organization, level)
    invitations: list[uuid.UUID] = field(default_factory=list)
    keys: dict[uuid.UUID, Key] = field(default_factory=dict)
    counter: int = 0

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def person(self, uid: uuid.UUID) -> Person | None:
        return next((p for p in self.people if p.id == uid), None)

    def clone(self) -> World:
        """A copy the walk may change (the saved world stays as built)."""
        return replace(
            self,
            people=[replace(p) for p in self.people],
            bearers=list(self.bearers),
            names=dict(self.names),
            roles=list(self.roles),
            levels=dict(self.levels),
            invitations=list(self.invitations),
            keys={k: replace(v, holders=set(v.holders)) for k, v in self.keys.items()},
        )

    def holders(self) -> dict[uuid.UUID, frozenset[uuid.UUID]]:
        return {k.id: frozenset(k.holders) for k in self.keys.values()}

    def name(self, uid: uuid.UUID | None) -> str:
        return "-" if uid is None else self.names.get(uid, str(uid)[:8])

    def discover(self, rows: Rows) -> None:
        """Name the roles and invitations the walk created (in a fixed order)."""
        for rid, org, name, level, _t, _a in sorted(rows.custom, key=lambda r: (r[2], r[3])):
            if rid not in self.levels:
                self.roles.append(rid)
                self.levels[rid] = (org, level)
                self.names[rid] = f"'{name}'"
        for iid, _org, email, _acc in sorted(rows.invitations, key=lambda r: r[2]):
            if iid not in self.names:
                self.invitations.append(iid)
                self.names[iid] = f"inv{len(self.invitations)}<{email}>"


def rid(rng: Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


class _Builder:
    """Adds the world's rows to one session, naming every id it makes (for the logs)."""

    def __init__(self, db: AsyncSession, rng: Random) -> None:
        self.db, self.rng = db, rng
        self.names: dict[uuid.UUID, str] = {}
        self.people: list[Person] = []

    async def person(
        self, name: str, *, sa_org: uuid.UUID | None = None, verified: bool = True
    ) -> Person:
        email = None if sa_org else f"{name.lower()}@example.com"
        user = User(
            id=rid(self.rng),
            username=name,
            email=email,
            email_verified=verified and email is not None,
            password_hash=None if sa_org else password_hash(),
            is_service_account=sa_org is not None,
            organization_id=sa_org,
            metadata_={},
        )
        self.db.add(user)
        await self.db.flush()
        self.names[user.id] = name
        p = Person(user.id, name, sa_org, email, email if verified else None, sa=sa_org is not None)
        self.people.append(p)
        return p

    async def org(self, name: str, owner: Person) -> uuid.UUID:
        org = Organization(id=rid(self.rng), name=f"org-{name.lower()}", owner_id=owner.id)
        self.db.add(org)
        await self.db.flush()
        self.names[org.id] = f"org {name}"
        owner.home = org.id
        self.assign(ADMIN, org.id, user=owner)
        return org.id

    def assign(
        self,
        role: uuid.UUID,
        org: uuid.UUID,
        *,
        user: Person | None = None,
        team: uuid.UUID | None = None,
        inv: uuid.UUID | None = None,
        ws: uuid.UUID | None = None,
        project: uuid.UUID | None = None,
    ) -> None:
        uid = user.id if user else None
        self.db.add(
            RoleAssignment.grant(
                role,
                organization_id=org,
                user_id=uid,
                team_id=team,
                invitation_id=inv,
                workspace_id=ws,
                project_id=project,
            )
        )
        if user is not None and user.home is None:
            user.home = org

    def workspace(self, name: str, org: uuid.UUID, owner: Person) -> uuid.UUID:
        ws = Workspace(
            id=rid(self.rng),
            name=f"ws-{name.lower()}",
            organization_id=org,
            owner_id=owner.id,
            status="available",
            desired_state="available",
            usage_counts={},
        )
        self.db.add(ws)
        self.names[ws.id] = f"ws {name}"
        return ws.id

    async def team(self, name: str, org: uuid.UUID, *members: Person) -> uuid.UUID:
        team = Team(id=rid(self.rng), name=name, organization_id=org)
        self.db.add(team)
        await self.db.flush()
        self.db.add_all(TeamMember(team_id=team.id, user_id=m.id) for m in members)
        self.names[team.id] = f"team {name}"
        return team.id

    async def role(self, name: str, org: uuid.UUID, level: str, pairs: set[Pair]) -> uuid.UUID:
        role = Role(id=rid(self.rng), organization_id=org, name=name, level=level)
        self.db.add(role)
        await self.db.flush()
        self.db.add_all(
            RolePermission(role_id=role.id, resource_type=t, action=a) for t, a in pairs
        )
        self.names[role.id] = f"'{name}'"
        return role.id

    def share(
        self,
        ws: uuid.UUID,
        resource: str,
        action: str,
        *,
        user: Person | None = None,
        team: uuid.UUID | None = None,
    ) -> None:
        project, _, rest = resource.rpartition(":")
        rtype, _, res_id = rest.partition("/")
        self.db.add(
            Share.grant(
                ws,
                rtype,
                uuid.UUID(res_id),
                action,
                user_id=user.id if user else None,
                team_id=team,
                project_id=uuid.UUID(project) if project else None,
            )
        )

    async def invitation(self, org: uuid.UUID, email: str, role: uuid.UUID) -> uuid.UUID:
        inv = Invitation(
            id=rid(self.rng),
            organization_id=org,
            email=email,
            expires=utcnow() + timedelta(days=7),
            accepted=False,
        )
        self.db.add(inv)
        await self.db.flush()
        self.assign(role, org, inv=inv.id)
        return inv.id


async def session_headers(db: AsyncSession, user_id: uuid.UUID) -> dict[str, str]:
    issued = await auth_service.issue_token(
        db, Credential.session, timedelta(hours=1), user_id=user_id, idle_minutes=60
    )
    return bearer(issued.secret)


async def machine_headers(db: AsyncSession, workspace_id: uuid.UUID) -> dict[str, str]:
    issued = await auth_service.issue_token(
        db, Credential.machine, timedelta(hours=1), workspace_id=workspace_id
    )
    return bearer(issued.secret)


# Organization roles of the world's users (system roles; custom ones are added below).
ORG_ROLES: tuple[tuple[str, str, uuid.UUID], ...] = (
    ("A", "mgrA", MANAGER),
    ("A", "viewerA", VIEWER),
    ("A", "memberA", MEMBER),
    ("A", "wsadminA", MEMBER),
    ("A", "saA", MEMBER),
    ("A", "saA", ADMIN),  # "ci-admin": a key for it is Organization Admin
    ("A", "ciA", MEMBER),
    ("B", "mgrB", MANAGER),
    ("B", "viewerB", VIEWER),
    ("B", "memberB", MEMBER),
    ("B", "wsadminB", MEMBER),
    ("B", "saB", MEMBER),
    ("B", "saB", MANAGER),
    ("B", "saB", BILLING),
    ("B", "ciB", MEMBER),
)
PEOPLE_MANAGER: set[Pair] = {
    ("organization", "read"),
    ("member", "read"),
    ("member", "create"),
    ("member", "update"),
    ("team", "read"),
    ("team", "update"),
}
WEIGHTS = {"mgrA": 2, "mgrB": 2, "wsadminA": 2, "wsadminB": 2, "peopleA": 3}


async def _people(b: _Builder) -> tuple[dict[str, Person], dict[str, uuid.UUID]]:
    owners = {o: await b.person(f"owner{o}") for o in "AB"}
    outsider = await b.person("outsider")
    orgs = {o: await b.org(o, owners[o]) for o in "AB"} | {"C": await b.org("C", outsider)}
    people = {p.name: p for p in b.people}
    for name in ("mgr", "viewer", "member", "wsadmin"):
        for o in "AB":
            people[f"{name}{o}"] = await b.person(f"{name}{o}")
    for name in ("peopleA", "loner"):
        people[name] = await b.person(name)
    people["unverified"] = await b.person("unverified", verified=False)
    for key, name, o in (
        ("saA", "sa-a-admin", "A"),
        ("saB", "sa-b-ops", "B"),
        ("ciA", "sa-a-ci", "A"),
        ("ciB", "sa-b-ci", "B"),
    ):
        people[key] = await b.person(name, sa_org=orgs[o])
    for o, who, role in ORG_ROLES:
        b.assign(role, orgs[o], user=people[who])
    await b.db.flush()
    return people, orgs


async def _workspaces(
    b: _Builder, orgs: dict[str, uuid.UUID], people: dict[str, Person]
) -> dict[str, uuid.UUID]:
    found = {n: b.workspace(n, orgs[n[0]], people[f"owner{n[0]}"]) for n in ("A1", "A2", "B1")}
    await b.db.flush()
    return found


def _resources(
    b: _Builder, workspaces: list[uuid.UUID]
) -> tuple[dict[uuid.UUID, list[uuid.UUID]], dict[uuid.UUID, list[str]]]:
    """Two projects per workspace, and five resource strings (global, project-scoped, a
    project itself) that shares may name."""
    rng = b.rng
    projects = {w: [rid(rng), rid(rng)] for w in workspaces}
    for w in workspaces:
        for n, p in enumerate(projects[w], 1):
            b.names[p] = f"{b.names[w]}/p{n}"
    resources = {
        w: [
            f"stack/{rid(rng)}",
            f"secret/{rid(rng)}",
            f"{projects[w][0]}:pipeline/{rid(rng)}",
            f"{projects[w][1]}:model/{rid(rng)}",
            f"project/{projects[w][0]}",
        ]
        for w in workspaces
    }
    return projects, resources


async def _teams_roles_shares(
    b: _Builder,
    orgs: dict[str, uuid.UUID],
    people: dict[str, Person],
    ws: dict[str, uuid.UUID],
    projects: dict[uuid.UUID, list[uuid.UUID]],
    resources: dict[uuid.UUID, list[str]],
) -> dict[uuid.UUID, uuid.UUID]:
    """Workspace roles, custom roles, teams, shares and pending invitations; returns
    every team's organization."""
    a, b_ = orgs["A"], orgs["B"]
    b.assign(WS_ADMIN, a, user=people["wsadminA"], ws=ws["A1"])
    b.assign(WS_ADMIN, b_, user=people["wsadminB"], ws=ws["B1"])
    b.assign(WS_VIEWER, b_, user=people["ciB"], ws=ws["B1"])
    ops_a = await b.role("opsA", a, ORG, {("team", "read")})
    people_role = await b.role("people", a, ORG, PEOPLE_MANAGER)
    dev_a = await b.role("devA", a, WS, {("stack", "read"), ("stack", "update")})
    ops_b = await b.role("opsB", b_, ORG, {("team", "read"), ("member", "read")})
    proj_b = await b.role("projB", b_, PROJECT, {("pipeline", "read")})
    await b.role("draftA", a, WS, set())  # being written: no permissions yet
    teams = {
        "A-admins": await b.team("A-admins", a),
        "A-devs": await b.team("A-devs", a, people["memberA"]),
        "A-readers": await b.team("A-readers", a, people["viewerA"]),
        "B-admins": await b.team("B-admins", b_),
        "B-ops": await b.team("B-ops", b_, people["memberB"]),
    }
    await b.db.flush()
    b.assign(ops_a, a, user=people["memberA"])
    b.assign(people_role, a, user=people["peopleA"])
    b.assign(ADMIN, a, team=teams["A-admins"])
    b.assign(WS_DEV, a, team=teams["A-devs"], ws=ws["A2"])
    b.assign(dev_a, a, team=teams["A-devs"], ws=ws["A1"])
    b.assign(WS_VIEWER, a, team=teams["A-readers"], ws=ws["A1"])
    b.assign(ADMIN, b_, team=teams["B-admins"])
    b.assign(ops_b, b_, team=teams["B-ops"])
    b.assign(proj_b, b_, user=people["memberB"], ws=ws["B1"], project=projects[ws["B1"]][0])
    b.share(ws["A1"], resources[ws["A1"]][1], "read_secret_value", team=teams["A-devs"])
    b.share(ws["A1"], resources[ws["A1"]][0], "read", user=people["viewerA"])
    b.share(ws["B1"], resources[ws["B1"]][0], "delete", user=people["saB"])
    inv_a = await b.invitation(a, "newcomer@example.com", MEMBER)
    b.db.add(TeamMember(team_id=teams["A-devs"], invitation_id=inv_a))
    await b.invitation(b_, "loner@example.com", VIEWER)
    return {t: (a if name.startswith("A") else b_) for name, t in teams.items()}


async def build_world(
    app: FastAPI, rng: Random, system: dict[uuid.UUID, tuple[str, str, frozenset[Pair]]]
) -> World:
    """The world's rows, in one transaction, and the walk's picture of it."""
    async with app.state.sessionmaker() as db:
        b = _Builder(db, rng)
        people, orgs = await _people(b)
        ws = await _workspaces(b, orgs, people)
        workspaces = list(ws.values())
        projects, resources = _resources(b, workspaces)
        team_org = await _teams_roles_shares(b, orgs, people, ws, projects, resources)
        for person in b.people:
            if not person.sa:
                person.headers = await session_headers(db, person.id)
        machine = {w: await machine_headers(db, w) for w in workspaces}
        # mgrA minted a key for the low-power account earlier (allowed: it held less).
        ci_key = await api_keys.create_key(
            db, people["ciA"].id, APIKeyCreate(name="ci"), api_keys.Source()
        )
        b.names[ci_key.key.id] = "ci-key(sa-a-ci)"
        await db.commit()
    mgr_a, ci_a = people["mgrA"], people["ciA"]
    bearers = [Bearer(x.name, x.headers, x.id, x.id, WEIGHTS.get(x.name, 1)) for x in b.people]
    bearers = [x for x in bearers if x.headers]
    label = f"ci-key(sa-a-ci) held by {mgr_a.name}"
    bearers.append(Bearer(label, bearer(ci_key.secret), ci_a.id, mgr_a.id, 3))
    return World(
        static=Static(
            system=system,
            ws_org={w: orgs[n[0]] for n, w in ws.items()},
            team_org=team_org,
            sa_org={p.id: p.home for p in b.people if p.sa and p.home},
            superusers=frozenset(),
        ),
        orgs=list(orgs.values()),
        people=b.people,
        workspaces=workspaces,
        projects=projects,
        resources=resources,
        teams=list(team_org),
        machine=machine,
        bearers=bearers,
        names=b.names | {r: f"'{n}'" for r, (n, _l, _p) in system.items()},
        roles=sorted(system, key=str),
        levels={r: (None, level) for r, (_n, level, _p) in system.items()},
        keys={ci_key.key.id: Key(ci_key.key.id, ci_a.id, {mgr_a.id})},
    )


WORLD_SEED = 0  # the same world for every sequence; the seed picks the steps
WORLD_MAX_AGE = 20 * 60  # seconds; the world's tokens last an hour (idle: 60 min)
Table = Any  # sqlalchemy.Table


@dataclass
class Saved:
    world: World
    rows: Rows
    tables: list[tuple[Table, list[dict[str, Any]]]]
    built: float


@cache
def _cleaned_tables() -> list[Table]:
    return [t for t in reversed(Base.metadata.sorted_tables) if t.name not in dbfix.KEEP]


def _saved_tables() -> list[Table]:
    return [
        t
        for t in Base.metadata.sorted_tables
        if t.name not in dbfix.KEEP or t.name in ("roles", "role_permissions")
    ]


async def save(engine: AsyncEngine) -> list[tuple[Table, list[dict[str, Any]]]]:
    """Every row ``clean`` would delete (custom roles and their pairs included)."""
    custom = select(Role.id).where(Role.organization_id.isnot(None))
    out: list[tuple[Table, list[dict[str, Any]]]] = []
    async with engine.connect() as conn:
        for table in _saved_tables():
            stmt = select(table)
            if table.name == "roles":
                stmt = stmt.where(table.c.organization_id.isnot(None))
            elif table.name == "role_permissions":
                stmt = stmt.where(table.c.role_id.in_(custom))
            rows = [dict(r._mapping) for r in (await conn.execute(stmt)).all()]
            out.append((table, rows))
    return out


async def restore(engine: AsyncEngine, tables: list[tuple[Table, list[dict[str, Any]]]]) -> None:
    """Empty what the walk may have changed and put the saved rows back, in one
    transaction: the deletes of ``tests/fixtures/db.clean`` (every table but the seeded
    ones, children first), then the inserts, parents first. Users and organizations refer
    to each other (an organization's owner; a service account's organization): humans go
    in first, then the organizations, then service accounts, then the rest. Core
    statements bypass the session hooks, so the cache epochs are moved here, as ``clean``
    does."""
    async with engine.begin() as conn:
        for table in _cleaned_tables():
            await conn.execute(delete(table))
        await conn.execute(delete(Role).where(Role.organization_id.isnot(None)))
        saved = {table.name: rows for table, rows in tables}
        users = saved["users"]
        first = [
            (User.__table__, [r for r in users if r["organization_id"] is None]),
            (Organization.__table__, saved["organizations"]),
            (User.__table__, [r for r in users if r["organization_id"] is not None]),
        ]
        rest = [(t, r) for t, r in tables if t.name not in ("users", "organizations")]
        for table, rows in first + rest:
            if rows:
                await conn.execute(insert(table), rows)
        await conn.execute(update(CacheEpoch).values(value=CacheEpoch.value + 1))
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_notify('zenpro_epochs', 'auth,grants')"))
