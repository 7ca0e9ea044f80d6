"""The oracle of the escalation search (``test_escalation_model.py``): who holds what.

Independent of the implementation on purpose: holdings are computed here from the rows,
read with plain SQL, and "held by the actor" is spelled out again from the rule's own
documentation (the ``authz/granting.py`` docstring and spec §6). Nothing here calls the
checker or the granting module; the only thing shared with them is the database.

What a principal holds:

- **pairs at a scope** — ``(level, organization, workspace|None, project|None)`` →
  ``{(type, action)}``, from the role assignments it has directly and through its teams
  (the level is the role's);
- **shares** — ``(workspace, project|None, type, resource id, action)``, directly and
  through its teams; a project-scope assignment also lets its holder read that project
  (spec §6 and the checker's documented rule), which counts as the share-like item
  ``(workspace, None, "project", project, "read")``: so an empty project role is not a
  free pass;
- **organizations it belongs to** — any assignment (direct, team, invitation), any team,
  any share in one of its workspaces, and a service account's own organization.

Principals are users (humans and service accounts), pending invitations (pseudo-principals:
what they carry moves to whoever accepts them) and *key holders*: a human who minted or
rotated a service-account key holds, besides their own, everything that account holds
while the key is active.

"Held by the actor" (granting.py): organization pairs through organization-level roles in
that organization; workspace pairs through workspace-level roles in that workspace, project
pairs also through project-level roles for that project; holding both ``member:update``
and ``workspace:update`` in an organization (Organization Admin, Manager) *administers*
its workspaces: every workspace/project pair and share there counts as held (never an
organization pair); a superuser holds everything. A share item is held by whoever may do
that action on that resource (the same workspace/project pairs, the same share, or the
project-read rule above).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import (
    CompoundSelect,
    Select,
    String,
    TypeDecorator,
    Uuid,
    cast,
    literal,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from zenpro.models import APIKey, Invitation, Role, RoleAssignment, RolePermission, Share
from zenpro.models import TeamMember as TM

Pair = tuple[str, str]
ScopeKey = tuple[str, uuid.UUID, uuid.UUID | None, uuid.UUID | None]  # level, org, ws, project
PKey = tuple[str, uuid.UUID]  # ("user" | "holder" | "inv" | "team", id)
ORG, WS, PROJECT = "organization", "workspace", "project"
AUTHORITY: frozenset[Pair] = frozenset({("member", "update"), ("workspace", "update")})
NOTHING: frozenset[Pair] = frozenset()


class Shared(NamedTuple):
    """One action on one workspace resource."""

    ws: uuid.UUID
    project: uuid.UUID | None
    rtype: str
    rid: uuid.UUID
    action: str


U = uuid.UUID | None
AssignmentRow = tuple[uuid.UUID, U, U, U, uuid.UUID, U, U]  # role, user, team, inv, org, ws, proj
MemberRow = tuple[uuid.UUID, U, U]  # team, user, invitation
ShareRow = tuple[uuid.UUID, U, U, U, str, uuid.UUID, str]  # ws, user, team, proj, type, id, action
CustomRow = tuple[uuid.UUID, uuid.UUID, str, str, str | None, str | None]  # id, org, name, level…
KeyRow = tuple[uuid.UUID, uuid.UUID, bool]  # key id, service account, active
InvitationRow = tuple[uuid.UUID, uuid.UUID, str, bool]  # id, org, email, accepted


@dataclass(frozen=True)
class Rows:
    """Every row that decides who holds what, as plain tuples (comparable, hashable)."""

    assignments: frozenset[AssignmentRow]
    members: frozenset[MemberRow]
    shares: frozenset[ShareRow]
    custom: frozenset[CustomRow]
    keys: frozenset[KeyRow]
    invitations: frozenset[InvitationRow]


class _RawId(TypeDecorator[Any]):
    """A uuid column read without conversion (no bind or result processing)."""

    impl = Uuid
    cache_ok = True

    def result_processor(self, dialect: Any, coltype: Any) -> None:
        return None


_ids: dict[Any, uuid.UUID] = {}


def _id(raw: Any) -> uuid.UUID | None:
    if raw is None:
        return None
    found = _ids.get(raw)
    if found is None:
        if len(_ids) > 100_000:  # long `make fuzz` runs: keep the memo small
            _ids.clear()
        found = _ids[raw] = raw if isinstance(raw, uuid.UUID) else uuid.UUID(str(raw))
    return found


def _part(kind: str, uuids: Sequence[Any], strings: Sequence[Any] = ()) -> Select[Any]:
    """One SELECT of the union: ``kind``, 7 uuid slots, 4 string slots (NULL-padded)."""
    u = [*uuids, *[cast(null(), Uuid()) for _ in range(7 - len(uuids))]]
    t = [*strings, *[cast(null(), String()) for _ in range(4 - len(strings))]]
    cols = [literal(kind, String()).label("k")]
    # The ids come back as the driver gives them (read_rows makes UUIDs of them, once per
    # distinct value): SQLAlchemy's per-value conversion was most of the read's cost.
    cols += [type_coerce(c, _RawId()).label(f"u{i}") for i, c in enumerate(u)]
    cols += [c.label(f"s{i}") for i, c in enumerate(t)]
    return select(*cols)  # type: ignore[return-value]


def _rows_query() -> CompoundSelect[Any]:
    ra, sh, rp = RoleAssignment, Share, RolePermission
    custom = _part(
        "role",
        [Role.id, Role.organization_id],
        [Role.name, Role.level, rp.resource_type, rp.action],
    )
    return union_all(
        _part(
            "ra",
            [
                ra.role_id,
                ra.user_id,
                ra.team_id,
                ra.invitation_id,
                ra.organization_id,
                ra.workspace_id,
                ra.project_id,
            ],
        ),
        _part("tm", [TM.team_id, TM.user_id, TM.invitation_id]),
        _part(
            "share",
            [sh.workspace_id, sh.user_id, sh.team_id, sh.project_id, sh.resource_id],
            [sh.resource_type, sh.action],
        ),
        custom.outerjoin(rp, rp.role_id == Role.id).where(Role.organization_id.isnot(None)),
        _part("key+", [APIKey.id, APIKey.user_id]).where(APIKey.active.is_(True)),
        _part("key-", [APIKey.id, APIKey.user_id]).where(APIKey.active.is_(False)),
        _part("inv", [Invitation.id, Invitation.organization_id], [Invitation.email]).where(
            Invitation.accepted.is_(False)
        ),
        _part("inv!", [Invitation.id, Invitation.organization_id], [Invitation.email]).where(
            Invitation.accepted.is_(True)
        ),
    )


ROWS_QUERY = _rows_query()


async def read_rows(engine: AsyncEngine) -> Rows:
    """Every row that decides holdings, in one UNION ALL of whole tables (the world is
    tiny): one round trip however many principals there are, outside any transaction.
    """
    found: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    async with engine.connect() as conn:
        # Autocommit: no BEGIN (on SQLite the app's BEGIN IMMEDIATE would take the lock).
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        for k, *u, s0, s1, s2, s3 in (await conn.execute(ROWS_QUERY)).all():
            found[k].append((*map(_id, u), s0, s1, s2, s3))
    return Rows(
        frozenset((r[0], r[1], r[2], r[3], r[4], r[5], r[6]) for r in found["ra"]),
        frozenset((r[0], r[1], r[2]) for r in found["tm"]),
        frozenset((r[0], r[1], r[2], r[3], r[7], r[4], r[8]) for r in found["share"]),
        frozenset((r[0], r[1], r[7], r[8], r[9], r[10]) for r in found["role"]),
        frozenset((r[0], r[1], k == "key+") for k in ("key+", "key-") for r in found[k]),
        frozenset((r[0], r[1], r[7], k == "inv!") for k in ("inv", "inv!") for r in found[k]),
    )


async def system_roles(engine: AsyncEngine) -> dict[uuid.UUID, tuple[str, str, frozenset[Pair]]]:
    """The seeded system roles as the tables hold them: id → (name, level, pairs)."""
    stmt = (
        select(Role.id, Role.name, Role.level, RolePermission.resource_type, RolePermission.action)
        .outerjoin(RolePermission, RolePermission.role_id == Role.id)
        .where(Role.organization_id.is_(None))
    )
    found: dict[uuid.UUID, tuple[str, str, set[Pair]]] = {}
    async with engine.connect() as conn:
        for rid, name, level, rtype, action in (await conn.execute(stmt)).all():
            entry = found.setdefault(rid, (name, level, set()))
            if rtype is not None:
                entry[2].add((rtype, action))
    return {rid: (n, lvl, frozenset(p)) for rid, (n, lvl, p) in found.items()}


@dataclass
class Holdings:
    """What one principal holds: pairs per scope, shares, and where it belongs."""

    scopes: dict[ScopeKey, frozenset[Pair]] = field(default_factory=dict)
    shares: set[Shared] = field(default_factory=set)
    orgs: set[uuid.UUID] = field(default_factory=set)
    workspaces: set[uuid.UUID] = field(default_factory=set)

    def add(self, scope: ScopeKey, pairs: frozenset[Pair]) -> None:
        self.scopes[scope] = self.scopes.get(scope, NOTHING) | pairs

    def merge(self, other: Holdings) -> None:
        for scope, pairs in other.scopes.items():
            self.add(scope, pairs)
        self.shares |= other.shares
        self.orgs |= other.orgs
        self.workspaces |= other.workspaces


EMPTY = Holdings()


@dataclass(frozen=True)
class Static:
    """What the walk never changes: role pairs of system roles, where workspaces, teams
    and service accounts belong, and who is a superuser."""

    system: Mapping[uuid.UUID, tuple[str, str, frozenset[Pair]]]
    ws_org: Mapping[uuid.UUID, uuid.UUID]
    team_org: Mapping[uuid.UUID, uuid.UUID]
    sa_org: Mapping[uuid.UUID, uuid.UUID]
    superusers: frozenset[uuid.UUID]


@dataclass
class Model:
    """Everyone's holdings at one moment (rows plus who holds which key)."""

    static: Static
    holdings: dict[PKey, Holdings]
    inv_orgs: dict[uuid.UUID, uuid.UUID]

    def of(self, key: PKey) -> Holdings:
        return self.holdings.get(key, EMPTY)


def role_pairs(static: Static, rows: Rows) -> dict[uuid.UUID, tuple[str, frozenset[Pair]]]:
    pairs: dict[uuid.UUID, tuple[str, frozenset[Pair]]] = {
        rid: (level, p) for rid, (_, level, p) in static.system.items()
    }
    custom: dict[uuid.UUID, tuple[str, set[Pair]]] = {}
    for rid, _org, _name, level, rtype, action in rows.custom:
        entry = custom.setdefault(rid, (level, set()))
        if rtype is not None and action is not None:
            entry[1].add((rtype, action))
    pairs.update({rid: (level, frozenset(p)) for rid, (level, p) in custom.items()})
    return pairs


def build_model(
    static: Static, rows: Rows, holders: Mapping[uuid.UUID, frozenset[uuid.UUID]]
) -> Model:
    """Everyone's holdings from the rows; ``holders`` maps a key id to the humans holding
    its secret (tracked by the walk: the minter, or the rotator)."""
    pairs = role_pairs(static, rows)
    subjects: dict[PKey, Holdings] = {}

    def at(key: PKey) -> Holdings:
        return subjects.setdefault(key, Holdings())

    for role_id, user, team, inv, org, ws, proj in rows.assignments:
        key: PKey = ("user", user) if user else ("team", team) if team else ("inv", inv)  # type: ignore[assignment]
        level, granted = pairs.get(role_id, (ORG, NOTHING))
        h = at(key)
        h.add((level, org, ws, proj), granted)
        h.orgs.add(static.ws_org.get(ws, org) if ws else org)
        if ws is not None:
            h.workspaces.add(ws)
        if level == PROJECT and ws is not None and proj is not None:
            h.shares.add(Shared(ws, None, "project", proj, "read"))
    for ws, user, team, proj, rtype, rid, action in rows.shares:
        h = at(("user", user) if user else ("team", team))  # type: ignore[arg-type]
        h.shares.add(Shared(ws, proj, rtype, rid, action))
        h.orgs.add(static.ws_org[ws])
        h.workspaces.add(ws)
    out: dict[PKey, Holdings] = {k: v for k, v in subjects.items() if k[0] != "team"}
    for team, user, inv in rows.members:
        member: PKey = ("user", user) if user else ("inv", inv)  # type: ignore[assignment]
        h = out.setdefault(member, Holdings())
        h.merge(subjects.get(("team", team), EMPTY))
        h.orgs.add(static.team_org[team])
    for sa, org in static.sa_org.items():
        out.setdefault(("user", sa), Holdings()).orgs.add(org)
    for inv, org, _email, _accepted in rows.invitations:
        out.setdefault(("inv", inv), Holdings()).orgs.add(org)
    for key_id, sa, active in rows.keys:
        if not active:
            continue
        for human in holders.get(key_id, frozenset()):
            combined = out.get(("holder", human))
            if combined is None:
                combined = out[("holder", human)] = Holdings()
                combined.merge(out.get(("user", human), EMPTY))
            combined.merge(out.get(("user", sa), EMPTY))
    return Model(static, out, {i: o for i, o, _e, _a in rows.invitations})


# --- "held by the actor" -----------------------------------------------------------------


@dataclass
class Actor:
    """The holdings a step's gains are judged against, indexed for the questions asked."""

    static: Static
    holds: Holdings
    superuser: bool

    def org_pairs(self, org: uuid.UUID) -> frozenset[Pair]:
        out: set[Pair] = set()
        for (level, o, _ws, _proj), pairs in self.holds.scopes.items():
            if level == ORG and o == org:
                out |= pairs
        return frozenset(out)

    def administers(self, org: uuid.UUID) -> bool:
        return self.superuser or self.org_pairs(org) >= AUTHORITY

    def ws_pairs(self, ws: uuid.UUID, project: uuid.UUID | None) -> frozenset[Pair]:
        """Workspace-level pairs in ``ws``, plus project-level ones for ``project``."""
        out: set[Pair] = set()
        for (level, _org, w, p), pairs in self.holds.scopes.items():
            if w == ws and (
                level == WS or (level == PROJECT and project is not None and p == project)
            ):
                out |= pairs
        return frozenset(out)

    def projects(self, ws: uuid.UUID) -> set[uuid.UUID]:
        return {
            p
            for (level, _o, w, p) in self.holds.scopes
            if level == PROJECT and w == ws and p is not None
        }

    def member_of(self, ws: uuid.UUID) -> bool:
        """May use the workspace at all (any assignment or share in it, or authority)."""
        return ws in self.holds.workspaces or self.administers(self.static.ws_org[ws])

    def lacks(self, scope: ScopeKey, pairs: frozenset[Pair]) -> frozenset[Pair]:
        """The pairs of ``pairs`` at ``scope`` the actor does not hold."""
        level, org, ws, proj = scope
        if self.superuser:
            return NOTHING
        if level == ORG:
            return pairs - self.org_pairs(org)
        if ws is None or self.administers(self.static.ws_org.get(ws, org)):
            return NOTHING if ws is not None else pairs
        return pairs - self.ws_pairs(ws, proj if level == PROJECT else None)

    def may_share(self, item: Shared) -> bool:
        if self.superuser or self.administers(self.static.ws_org[item.ws]):
            return True
        if (item.rtype, item.action) in self.ws_pairs(item.ws, item.project):
            return True
        same = {(s.ws, s.rtype, s.rid, s.action) for s in self.holds.shares}
        if (item.ws, item.rtype, item.rid, item.action) in same:
            return True
        return (
            item.rtype == "project" and item.action == "read" and item.rid in self.projects(item.ws)
        )


# --- the property ------------------------------------------------------------------------


@dataclass(frozen=True)
class Gain:
    """Something one principal holds after a step and did not before (``kind``): pairs
    at a scope, a share item, belonging to a workspace (it may then log in to that ZenML
    server: ``authorize_server``) or to an organization at all."""

    who: PKey
    kind: str  # "pairs" | "share" | "workspace" | "member"
    org: uuid.UUID  # the organization it is in
    scope: ScopeKey | None = None
    pairs: frozenset[Pair] = NOTHING
    share: Shared | None = None
    ws: uuid.UUID | None = None


def baseline(model: Model, who: PKey) -> Holdings:
    """What ``who`` held in ``model``; a key holder who held no key yet held their own."""
    found = model.holdings.get(who)
    if found is None and who[0] == "holder":
        return model.of(("user", who[1]))
    return found if found is not None else EMPTY


def gains(before: Model, after: Model) -> list[Gain]:
    ws_org = after.static.ws_org
    out: list[Gain] = []
    for who, now in after.holdings.items():
        then = baseline(before, who)
        if (
            now.scopes == then.scopes
            and now.shares == then.shares
            and now.orgs == then.orgs
            and now.workspaces == then.workspaces
        ):
            continue
        for scope, pairs in now.scopes.items():
            new = pairs - then.scopes.get(scope, NOTHING)
            if new:
                org = ws_org.get(scope[2], scope[1]) if scope[2] else scope[1]
                out.append(Gain(who, "pairs", org, scope, new))
        out.extend(Gain(who, "share", ws_org[s.ws], share=s) for s in now.shares - then.shares)
        out.extend(Gain(who, "member", org) for org in now.orgs - then.orgs)
        out.extend(
            Gain(who, "workspace", ws_org[w], ws=w) for w in now.workspaces - then.workspaces
        )
    return out


@dataclass(frozen=True)
class Judged:
    """One gain the rule forbids, and why."""

    gain: Gain
    reason: str


@dataclass(frozen=True)
class Acceptance:
    """An acceptance by the invitation's addressee (verified, matching email, as the
    walk's own model of emails says): what the invitation carried may become theirs."""

    invitation: uuid.UUID
    organization: uuid.UUID
    acceptor: uuid.UUID


def judge(
    before: Model, after: Model, actor: uuid.UUID | None, accepted: Acceptance | None = None
) -> list[Judged]:
    """The property, for one step: every gain must have been held by ``actor`` before the
    step (for the addressee of an accepted invitation: carried by the invitation); and
    nobody gains anything in an organization they did not belong to before the step, the
    addressee excepted (in the invitation's organization), and an invitation in its own."""
    holds = before.of(("user", actor)) if actor is not None else EMPTY
    by = Actor(after.static, holds, actor in after.static.superusers)
    carried = before.of(("inv", accepted.invitation)) if accepted else EMPTY
    takers = {("user", accepted.acceptor), ("holder", accepted.acceptor)} if accepted else set()
    bad: list[Judged] = []
    for g in gains(before, after):
        takes = g.who in takers
        home = after.inv_orgs.get(g.who[1]) if g.who[0] == "inv" else None
        if takes and accepted is not None:
            home = accepted.organization
        if g.org not in baseline(before, g.who).orgs and g.org != home:
            why = "joined" if g.kind == "member" else "gained in"
            bad.append(Judged(g, f"{why} an organization without accepting an invitation"))
        if g.kind == "member" or (takes and _carried(carried, g)):
            continue
        reason = _lacking(by, g)
        if reason:
            bad.append(Judged(g, reason))
    return bad


def _lacking(by: Actor, g: Gain) -> str | None:
    """Why the actor could not give ``g`` (None: they hold it)."""
    if g.kind == "workspace":
        assert g.ws is not None
        return None if by.member_of(g.ws) else "the actor is no member of that workspace"
    if g.share is not None:
        return None if by.may_share(g.share) else "the actor may not do this on that resource"
    assert g.scope is not None
    lacks = by.lacks(g.scope, g.pairs)
    return f"the actor lacks {_few(lacks)}" if lacks else None


def _few(pairs: frozenset[Pair]) -> str:
    shown = ", ".join(f"{t}:{a}" for t, a in sorted(pairs)[:6])
    return shown + (f" and {len(pairs) - 6} more" if len(pairs) > 6 else "")


def _carried(carried: Holdings, g: Gain) -> bool:
    if g.kind == "workspace":
        return g.ws in carried.workspaces
    if g.share is not None:
        return g.share in carried.shares
    return g.scope is not None and g.pairs <= carried.scopes.get(g.scope, NOTHING)
