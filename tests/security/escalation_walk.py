"""The steps and the walk of the escalation search (``test_escalation_model.py``).

Every step is one HTTP request through the ASGI app, by a principal picked at random
(either organization, outsiders, newcomers, and holders of service-account keys), at a
target picked at random (often the actor itself: self-escalation is the classic), mostly
within the actor's organization (so attempts get past the visibility checks), sometimes
across. After each step the rows are read again and judged (``escalation_model``).

Every choice comes from ``random.Random(seed)`` over lists in a fixed order (never a set
of random ids), so a seed replays the same steps.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from random import Random
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI

from tests.fixtures import db as dbfix
from tests.fixtures.factories import bearer, password_hash
from tests.security.escalation_model import (
    ORG,
    PROJECT,
    WS,
    Acceptance,
    Judged,
    Pair,
    Rows,
    build_model,
    judge,
    read_rows,
)
from tests.security.escalation_world import (
    WORLD_MAX_AGE,
    WORLD_SEED,
    Bearer,
    Key,
    Person,
    Saved,
    World,
    build_world,
    restore,
    rid,
    save,
    session_headers,
)
from zenpro.authz.vocabulary import LEVEL_ACTIONS, LEVEL_TYPES, WORKSPACE_ACTIONS, Level
from zenpro.models import User

T = TypeVar("T")

# --- steps -------------------------------------------------------------------------------


@dataclass
class Call:
    """One HTTP request of the walk, and whose holdings bound what it may hand out."""

    what: str
    method: str
    url: str
    headers: dict[str, str]
    actor: uuid.UUID | None
    params: dict[str, str] | None = None
    json: Any = None
    accepted: Acceptance | None = None
    then: Callable[[httpx.Response], None] | None = None


class Steps:
    """Random granting operations over one world (each returns one :class:`Call`)."""

    def __init__(self, world: World, rng: Random, rows: Callable[[], Rows]) -> None:
        self.w, self.rng, self.rows = world, rng, rows

    # choices --------------------------------------------------------------------------

    def actor(self) -> Bearer:
        bearers = self.w.bearers
        return self.rng.choices(bearers, weights=[b.weight for b in bearers])[0]

    def target(self, actor: Bearer, *, humans: bool = False) -> Person:
        me = self.w.person(actor.identity)
        if me is not None and not (humans and me.sa) and self.rng.random() < 0.35:
            return me
        pool = [p for p in self.w.people if not (humans and p.sa)]
        return self.rng.choice(pool)

    def near(self, actor: Bearer, items: list[T], org_of: Callable[[T], uuid.UUID | None]) -> T:
        """Mostly something of the actor's own organization (attempts there get past the
        visibility checks), sometimes anything (cross-tenant attempts)."""
        me = self.w.person(actor.identity)
        mine = [i for i in items if me is not None and org_of(i) == me.home]
        return self.rng.choice(mine if mine and self.rng.random() < 0.75 else items)

    def org(self, actor: Bearer) -> uuid.UUID:
        me = self.w.person(actor.identity)
        if me is not None and me.home is not None and self.rng.random() < 0.75:
            return me.home
        return self.rng.choice(self.w.orgs)

    def workspace(self, org: uuid.UUID | None) -> uuid.UUID:
        mine = [w for w in self.w.workspaces if self.w.static.ws_org[w] == org]
        if mine and self.rng.random() < 0.8:
            return self.rng.choice(mine)
        return self.rng.choice(self.w.workspaces)

    def permissions(self, level: str) -> list[dict[str, Any]]:
        types = sorted(LEVEL_TYPES[Level(level)])
        actions = list(LEVEL_ACTIONS[Level(level)])
        roll = self.rng.random()
        if roll < 0.1:
            return []
        if roll < 0.25:
            return [{"resource_type": t, "actions": actions} for t in types]
        chosen: dict[str, set[str]] = {}
        for _ in range(self.rng.randint(1, 6)):
            chosen.setdefault(self.rng.choice(types), set()).add(self.rng.choice(actions))
        return [{"resource_type": t, "actions": sorted(a)} for t, a in sorted(chosen.items())]

    def role(self, actor: Bearer) -> uuid.UUID:
        """A system role half of the time, else a custom one (mostly of the actor's
        organization): custom roles are where odd permission sets live."""
        custom = [r for r in self.w.roles if self.w.levels[r][0] is not None]
        if self.rng.random() < 0.5:
            return self.rng.choice([r for r in self.w.roles if self.w.levels[r][0] is None])
        return self.near(actor, custom, lambda r: self.w.levels[r][0])

    def subject(self, actor: Bearer) -> tuple[dict[str, str], str]:
        roll = self.rng.random()
        if roll < 0.15 and self.w.invitations:
            inv = self.rng.choice(self.w.invitations)
            return {"invitation_id": str(inv)}, self.w.name(inv)
        if roll < 0.4:
            team = self.near(actor, self.w.teams, self.w.static.team_org.get)
            return {"team_id": str(team)}, self.w.name(team)
        user = self.target(actor)
        return {"user_id": str(user.id)}, user.name

    def scope(self, role: uuid.UUID, actor: Bearer) -> dict[str, str]:
        org, level = self.w.levels[role]
        home = org or self.org(actor)
        if level == ORG:
            return {"organization_id": str(home)} if org is None or self.rng.random() < 0.2 else {}
        ws = self.workspace(home)
        if level == WS:
            return {"workspace_id": str(ws)}
        project = self.rng.choice(self.w.projects[ws]) if self.rng.random() < 0.9 else rid(self.rng)
        return {"workspace_id": str(ws), "project_id": str(project)}

    def _where(self, params: dict[str, str]) -> str:
        ids = [params.get(k) for k in ("organization_id", "workspace_id", "project_id")]
        return " ".join(self.w.name(uuid.UUID(i)) for i in ids if i) or "(role's org)"

    # operations -----------------------------------------------------------------------

    def assign(self) -> Call:
        b = self.actor()
        role = self.role(b)
        subject, who = self.subject(b)
        params = subject | self.scope(role, b)
        what = f"{b.name}: assign {self.w.name(role)} to {who} @ {self._where(params)}"
        return Call(what, "POST", f"/roles/{role}/assignments", b.headers, b.identity, params)

    def revoke(self) -> Call:
        b = self.actor()
        existing = sorted(self.rows().assignments, key=lambda r: [self.w.name(x) for x in r])
        if not existing or self.rng.random() < 0.3:
            call = self.assign()
            what = call.what.replace(": assign", ": revoke").replace(" to ", " from ", 1)
            call.method, call.what = "DELETE", what
            return call
        role, user, team, inv, org, ws, proj = self.rng.choice(existing)
        subject = (
            {"user_id": user} if user else {"team_id": team} if team else {"invitation_id": inv}
        )
        params = {k: str(v) for k, v in subject.items()}
        scope = {"organization_id": org, "workspace_id": ws, "project_id": proj}
        params |= {k: str(v) for k, v in scope.items() if v is not None}
        who = self.w.name(user or team or inv)
        what = f"{b.name}: revoke {self.w.name(role)} from {who} @ {self._where(params)}"
        return Call(what, "DELETE", f"/roles/{role}/assignments", b.headers, b.identity, params)

    def invite(self) -> Call:
        b = self.actor()
        org = self.org(b)
        roll = self.rng.random()
        humans = [p for p in self.w.people if p.email]
        if roll < 0.35:
            email = self.target(b, humans=True).email or "x@example.com"
        elif roll < 0.5:
            email = (self.rng.choice(humans).email or "x@example.com").upper()
        else:
            email = f"{self.w.fresh('new')}@example.com"
        body: dict[str, str] = {"email": email}
        org_roles = [r for r in self.w.roles if self.w.levels[r][1] == ORG]
        if self.rng.random() < 0.7:
            body["role_id"] = str(self.rng.choice(org_roles))
        role = self.w.name(uuid.UUID(body["role_id"])) if "role_id" in body else "(Member)"
        what = f"{b.name}: invite {email} to {self.w.name(org)} as {role}"
        url = f"/organizations/{org}/invitations"
        return Call(what, "POST", url, b.headers, b.identity, json=body)

    async def accept(self, new_user: Callable[[str], Any]) -> Call | None:
        if not self.w.invitations:
            return None
        inv = self.rng.choice(self.w.invitations)
        row = next((r for r in self.rows().invitations if r[0] == inv), None)
        if row is None:
            return None
        _, org, email, _accepted = row
        person = next(
            (p for p in self.w.people if p.email and p.email.lower() == email.lower()), None
        )
        if self.rng.random() < 0.25:
            person = self.rng.choice([p for p in self.w.people if not p.sa])
        elif person is None:
            person = await new_user(email)
        assert person is not None
        addressee = person.verified is not None and person.verified.lower() == email.lower()
        accepted = Acceptance(inv, org, person.id) if addressee else None
        what = f"{person.name}: accept {self.w.name(inv)}"
        url = f"/invitations/{inv}/accept"
        return Call(what, "POST", url, person.headers, person.id, accepted=accepted)

    def change_email(self) -> Call:
        person = self.rng.choice([p for p in self.w.people if not p.sa])
        pending = sorted(r[2] for r in self.rows().invitations if not r[3])
        if pending and self.rng.random() < 0.7:
            email = self.rng.choice(pending)
            email = email.upper() if self.rng.random() < 0.3 else email
        else:
            email = f"{self.w.fresh('moved')}@example.com"

        def then(r: httpx.Response) -> None:
            person.email, person.verified = email, None

        what = f"{person.name}: change own email to {email}"
        return Call(
            what, "PATCH", "/users/me", person.headers, person.id, json={"email": email}, then=then
        )

    def create_role(self) -> Call:
        b = self.actor()
        org = self.org(b)
        level = self.rng.choice([ORG, WS, PROJECT])
        perms = self.permissions(level)
        body = {"organization_id": str(org), "name": self.w.fresh("r"), "level": level}
        what = f"{b.name}: create {level} role {body['name']!r} in {self.w.name(org)} {perms}"
        return Call(
            what, "POST", "/roles", b.headers, b.identity, json=body | {"permissions": perms}
        )

    def edit_role(self) -> Call:
        b = self.actor()
        custom = [r for r in self.w.roles if self.w.levels[r][0] is not None]
        role = self.near(b, custom, lambda r: self.w.levels[r][0])
        level = self.w.levels[role][1]
        perms = self.permissions(level)
        if self.rng.random() < 0.5:  # widen what it has (the classic)
            have: dict[str, set[str]] = {}
            for r, _o, _n, _l, t, a in self.rows().custom:
                if r == role and t is not None and a is not None:
                    have.setdefault(t, set()).add(a)
            for p in perms:
                have.setdefault(p["resource_type"], set()).update(p["actions"])
            perms = [{"resource_type": t, "actions": sorted(a)} for t, a in sorted(have.items())]
        what = f"{b.name}: set {self.w.name(role)} to {perms}"
        body = {"permissions": perms}
        return Call(what, "PATCH", f"/roles/{role}", b.headers, b.identity, json=body)

    def join_team(self) -> Call:
        b = self.actor()
        team = self.near(b, self.w.teams, self.w.static.team_org.get)
        if self.w.invitations and self.rng.random() < 0.25:
            inv = self.rng.choice(self.w.invitations)
            params, who = {"invitation_id": str(inv)}, self.w.name(inv)
        else:
            user = self.target(b)
            params, who = {"user_id": str(user.id)}, user.name
        what = f"{b.name}: put {who} in {self.w.name(team)}"
        return Call(what, "POST", f"/teams/{team}/members", b.headers, b.identity, params)

    def key(self) -> Call:
        b = self.actor()
        sa = self.near(b, [p for p in self.w.people if p.sa], lambda p: p.home)
        org = sa.home if self.rng.random() < 0.85 else self.rng.choice(self.w.orgs)
        base = f"/organizations/{org}/service_accounts/{sa.name}/api_keys"
        keys = [k for k in self.w.keys.values() if k.sa == sa.id]
        roll = self.rng.random()
        if keys and roll < 0.25:
            return self._rotate(b, sa, self.rng.choice(keys), base)
        if keys and roll < 0.4:
            key = self.rng.choice(keys)
            active = self.rng.random() < 0.6
            what = f"{b.name}: set {self.w.name(key.id)} active={active}"
            url = f"{base}/{key.id}"
            return Call(what, "PATCH", url, b.headers, b.identity, json={"active": active})
        name = self.w.fresh("key")

        def then(r: httpx.Response) -> None:
            body = r.json()
            kid = uuid.UUID(body["id"])
            self.w.keys[kid] = Key(kid, sa.id, {b.owner})
            self.w.names[kid] = f"{name}({sa.name})"
            self._bearer(f"{name}({sa.name}) held by {self.w.name(b.owner)}", body, sa, b)

        what = f"{b.name}: mint {name} for {sa.name} in {self.w.name(org)}"
        return Call(what, "POST", base, b.headers, b.identity, json={"name": name}, then=then)

    def _rotate(self, b: Bearer, sa: Person, key: Key, base: str) -> Call:
        retain = self.rng.choice([0, 5])

        def then(r: httpx.Response) -> None:
            key.holders = {b.owner} if retain == 0 else key.holders | {b.owner}
            label = f"{self.w.name(key.id)} rotated, held by {self.w.name(b.owner)}"
            self._bearer(label, r.json(), sa, b)

        what = f"{b.name}: rotate {self.w.name(key.id)} (retain {retain} min)"
        url, body = f"{base}/{key.id}/rotate", {"retain_period_minutes": retain}
        return Call(what, "POST", url, b.headers, b.identity, json=body, then=then)

    def _bearer(self, label: str, body: dict[str, Any], sa: Person, b: Bearer) -> None:
        self.w.bearers.append(Bearer(label, bearer(body["key"]), sa.id, b.owner, 3))

    def share(self) -> Call:
        ws = self.rng.choice(self.w.workspaces)
        sharer = self.rng.choice(self.w.people) if self.rng.random() < 0.95 else None
        body: dict[str, Any] = {"sharing_user_id": str(sharer.id) if sharer else None}
        if self.rng.random() < 0.3:
            team = self.rng.choice(self.w.teams)
            body["team_id"], who = str(team), self.w.name(team)
        else:
            member = sharer if sharer and self.rng.random() < 0.3 else None
            member = member or self.rng.choice(self.w.people)
            body["user_id"], who = str(member.id), member.name
        pool = self.w.resources[
            ws if self.rng.random() < 0.85 else self.rng.choice(self.w.workspaces)
        ]
        body["resource"] = self.rng.choice(pool)
        body["actions"] = sorted(
            self.rng.sample(WORKSPACE_ACTIONS, self.rng.choice([0, 1, 1, 2, 3]))
        )
        what = (
            f"{self.w.name(ws)} (machine): share {body['resource']} {body['actions']} with {who}"
            f" as shared by {sharer.name if sharer else None}"
        )
        headers = self.w.machine[ws]
        return Call(
            what,
            "POST",
            "/rbac/resource_members",
            headers,
            sharer.id if sharer else None,
            json=body,
        )


# --- the walk ----------------------------------------------------------------------------

OPERATIONS: tuple[tuple[str, float], ...] = (
    ("assign", 4),
    ("revoke", 1.5),
    ("invite", 2),
    ("accept", 2),
    ("create_role", 1),
    ("edit_role", 2),
    ("join_team", 2),
    ("key", 3),
    ("share", 2),
    ("change_email", 0.5),
)


@dataclass
class Found:
    """A sequence that broke the property (or the server): enough to replay it."""

    seed: int
    backend: str
    steps: list[str]
    problems: list[str]

    def report(self, test: str = "holds") -> str:
        steps = "\n".join(f"  {n}. {s}" for n, s in enumerate(self.steps, 1))
        problems = "\n".join(f"  - {p}" for p in self.problems[:12])
        more = f"\n  … and {len(self.problems) - 12} more" if len(self.problems) > 12 else ""
        return (
            f"escalation search on {self.backend}, seed {self.seed}; replay with\n"
            f"  ZENPRO_ESCALATION_REPLAY={self.seed} .venv/bin/pytest -q -p no:cacheprovider "
            f"tests/security/test_escalation_model.py -k '{self.backend} and {test}'\n"
            f"steps:\n{steps}\nviolations (of the last step):\n{problems}{more}"
        )


class Walk:
    """Runs sequences over fresh worlds; the same app and client for all of them."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        system: dict[uuid.UUID, tuple[str, str, frozenset[Pair]]],
    ) -> None:
        self.client, self.app, self.system = client, app, system
        self.engine = app.state.engine
        self.backend = "postgres" if self.engine.dialect.name == "postgresql" else "sqlite"
        self.saved: Saved | None = None

    async def world(self) -> World:
        """A fresh copy of the world, in the database and in memory. Built once through the
        ORM and saved; before every other sequence, :func:`restore` empties what
        ``tests/fixtures/db.clean`` empties and puts the saved rows back, in one
        transaction (several times cheaper than building). Rebuilt after
        ``WORLD_MAX_AGE``, so the world's sessions never idle out."""
        fresh = self.saved is None or time.monotonic() - self.saved.built > WORLD_MAX_AGE
        if fresh:
            await dbfix.clean(self.engine)
            world = await build_world(self.app, Random(WORLD_SEED), self.system)
            rows = await read_rows(self.engine)
            world.discover(rows)
            self.saved = Saved(world, rows, await save(self.engine), time.monotonic())
        else:
            assert self.saved is not None
            await restore(self.engine, self.saved.tables)
        self.app.state.cache.moved(("auth", "grants"))
        assert self.saved is not None
        return self.saved.world.clone()

    async def sequence(self, seed: int) -> Found | None:
        rng = Random(seed)
        world = await self.world()
        assert self.saved is not None
        rows = self.saved.rows  # what restore() just wrote back
        before = build_model(world.static, rows, world.holders())
        steps = Steps(world, rng, lambda: rows)
        held = world.holders()
        log: list[str] = []
        for _ in range(rng.randint(3, 8)):
            call = await self._next(steps, world, rng)
            r = await self.client.request(
                call.method, call.url, params=call.params, json=call.json, headers=call.headers
            )
            log.append(f"{call.what} → {r.status_code}")
            if r.status_code >= 500:
                return Found(seed, self.backend, log, [f"server error: {r.text[:300]}"])
            if call.then is not None and r.is_success:
                call.then(r)
            holders = world.holders()
            fresh = await read_rows(self.engine)
            world.discover(fresh)
            if fresh == rows and holders == held:
                continue
            after = build_model(world.static, fresh, holders)
            bad = judge(before, after, call.actor, call.accepted)
            if bad:
                return Found(seed, self.backend, log, [describe(world, j) for j in bad])
            before, rows, held = after, fresh, holders
        return None

    async def _next(self, steps: Steps, world: World, rng: Random) -> Call:
        names, weights = zip(*OPERATIONS, strict=True)
        while True:
            op = rng.choices(names, weights=weights)[0]
            if op == "accept":
                call = await steps.accept(lambda email: self._new_user(world, email))
            elif op == "edit_role" and not any(world.levels[r][0] for r in world.roles):
                call = None
            else:
                call = getattr(steps, op)()
            if call is not None:
                return call

    async def _new_user(self, world: World, email: str) -> Person:
        """Someone invited by an address nobody has yet signs up (verified, as single
        sign-on would assert)."""
        name = world.fresh("newcomer")
        async with self.app.state.sessionmaker() as db:
            user = User(
                username=name,
                email=email,
                email_verified=True,
                password_hash=password_hash(),
                metadata_={},
            )
            db.add(user)
            await db.flush()
            headers = await session_headers(db, user.id)
            await db.commit()
        person = Person(user.id, name, None, email, email, headers)
        world.people.append(person)
        world.names[user.id] = name
        world.bearers.append(Bearer(name, headers, user.id, user.id, 1))
        return person


def describe(world: World, judged: Judged) -> str:
    g = judged.gain
    kind, who_id = g.who
    who = world.name(who_id) + (" (with the keys they hold)" if kind == "holder" else "")
    if g.kind == "member":
        what = f"membership of {world.name(g.org)}"
    elif g.kind == "workspace":
        what = f"membership of {world.name(g.ws)}"
    elif g.share is not None:
        s = g.share
        what = f"{s.rtype}/{str(s.rid)[:8]} {s.action} in {world.name(s.ws)}"
    else:
        assert g.scope is not None
        level, org, ws, proj = g.scope
        pairs = sorted(f"{t}:{a}" for t, a in g.pairs)
        listed = ", ".join(pairs[:6]) + (f" +{len(pairs) - 6} more" if len(pairs) > 6 else "")
        where = " ".join(world.name(x) for x in (org, ws, proj) if x is not None)
        what = f"{level} pairs {listed} @ {where}"
    return f"{who} gained {what}: {judged.reason}"
