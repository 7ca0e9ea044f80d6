"""The one checker: "may principal P do action A on resource type T in scope S?".

Guards, ``GET /permissions`` and ``/rbac/*`` all ask it. A user's effective grants
(direct, through teams, at organization/workspace/project scope, plus implicit membership
from shares) come from one indexed query; the permissions of the roles involved from a
second. They are kept in the ``grants`` cache (``kit/cache.py``), which every change to an
assignment, team, role or share empties on every instance before the next request is
answered, so a revocation changes the very next answer.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import Row, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.auth.principal import Credential, UserPrincipal
from zenpro.authz import membership
from zenpro.authz.resources import Resource
from zenpro.authz.vocabulary import Level, Pair
from zenpro.kit.cache import GRANTS, cached
from zenpro.kit.lookup import Loading, Lookup
from zenpro.models import (
    Role,
    RoleAssignment,
    RolePermission,
    User,
    epochs,
)


@dataclass(frozen=True, slots=True)
class Grant:
    """One role held at one scope."""

    role_id: uuid.UUID
    level: Level
    organization_id: uuid.UUID
    workspace_id: uuid.UUID | None
    project_id: uuid.UUID | None
    pairs: frozenset[Pair]


@dataclass(frozen=True, slots=True)
class WorkspaceView:
    """What a user holds in one workspace for one action, indexed for O(1) resource checks."""

    types: frozenset[str]  # resource types of workspace-scope grants
    project_types: Mapping[uuid.UUID, frozenset[str]]  # of project-scope grants, by project
    projects: frozenset[uuid.UUID]  # projects where any project-scope role is held


@dataclass
class Grants:
    """Everything one user holds, ready to answer questions without more queries.

    Built once by :func:`load_grants` and then only read (it is shared through the
    ``grants`` cache), so the per-workspace views derived from it are kept with it."""

    superuser: bool = False
    grants: list[Grant] = field(default_factory=list)
    member_orgs: set[uuid.UUID] = field(default_factory=set)
    member_workspaces: set[uuid.UUID] = field(default_factory=set)
    _views: dict[tuple[uuid.UUID, str], WorkspaceView] = field(
        default_factory=dict, repr=False, compare=False
    )

    def view(self, workspace_id: uuid.UUID, action: str) -> WorkspaceView:
        key = (workspace_id, action)
        found = self._views.get(key)
        if found is None:
            types: set[str] = set()
            by_project: dict[uuid.UUID, set[str]] = defaultdict(set)
            projects: set[uuid.UUID] = set()
            for g in self.grants:
                if g.workspace_id != workspace_id:
                    continue
                held = {t for t, a in g.pairs if a == action}
                if g.level is Level.workspace:
                    types |= held
                elif g.level is Level.project and g.project_id is not None:
                    projects.add(g.project_id)
                    by_project[g.project_id] |= held
            found = self._views[key] = WorkspaceView(
                frozenset(types),
                {p: frozenset(t) for p, t in by_project.items()},
                frozenset(projects),
            )
        return found

    def org_allows(self, org_id: uuid.UUID, rtype: str, action: str) -> bool:
        if self.superuser:
            return True
        return any(
            g.level is Level.organization
            and g.organization_id == org_id
            and (rtype, action) in g.pairs
            for g in self.grants
        )

    def pairs_at(self, org_id: uuid.UUID, workspace_id: uuid.UUID | None = None) -> set[Pair]:
        """Everything held at one scope: org-level roles, or workspace-level roles in
        ``workspace_id``. Used to stop anyone granting more than they hold."""
        level = Level.organization if workspace_id is None else Level.workspace
        return {
            p
            for g in self.grants
            if g.level is level
            and g.organization_id == org_id
            and (workspace_id is None or g.workspace_id == workspace_id)
            for p in g.pairs
        }

    def holds_role(self, role_id: uuid.UUID, workspace_id: uuid.UUID | None) -> bool:
        return any(g.role_id == role_id and g.workspace_id == workspace_id for g in self.grants)

    def resource_allowed(
        self,
        workspace_id: uuid.UUID,
        resource: Resource,
        action: str,
        shares: frozenset[tuple[str, uuid.UUID, str]] = frozenset(),
    ) -> bool:
        """The workspace-side rule (spec §6): superuser; a workspace-scope grant; a
        project-scope grant for the resource's project; a share of that action on that
        id. A project-scope assignment also lets its holder read the project itself."""
        if self.covers(workspace_id, resource, action):
            return True
        rtype, rid = resource.type, resource.id
        if rid is None:
            return False
        if (rtype, rid, action) in shares:
            return True
        return (
            rtype == "project"
            and action == "read"
            and rid in self.view(workspace_id, action).projects
        )

    def covers(self, workspace_id: uuid.UUID, resource: Resource, action: str) -> bool:
        """Every resource of the type is allowed (``full_access`` of allowed_resource_ids):
        superuser, a workspace-scope grant, or a project-scope grant for its project."""
        if self.superuser:
            return True
        view = self.view(workspace_id, action)
        project = resource.project_id
        return resource.type in view.types or (
            project is not None and resource.type in view.project_types.get(project, ())
        )

    def cache_tags(self, user_id: uuid.UUID) -> frozenset[str]:
        """What these grants of ``user_id`` depend on (``kit.cache`` scopes, named in
        ``models.epochs``): the user, where they belong, and the roles they hold."""
        return frozenset(
            {
                epochs.user_scope(user_id),
                *(epochs.org_scope(o) for o in self.member_orgs),
                *(epochs.workspace_scope(w) for w in self.member_workspaces),
                *(epochs.role_scope(g.role_id) for g in self.grants),
            }
        )

    def in_org(self, org_id: uuid.UUID) -> bool:
        return self.superuser or org_id in self.member_orgs

    def in_workspace(self, workspace_id: uuid.UUID) -> bool:
        return self.superuser or workspace_id in self.member_workspaces


async def load_grants(db: AsyncSession, principal: UserPrincipal) -> Grants:
    """A user's grants: from the ``grants`` cache, else two indexed queries (the user's
    scoped roles and memberships, then those roles' permission pairs)."""
    key = ("grants", principal.user_id, principal.is_superuser, principal.organization_id)
    tags = partial(Grants.cache_tags, user_id=principal.user_id)
    return await cached(db, GRANTS, key, lambda: _load_grants(db, principal), tags)


async def user_grants(look: Lookup, user_id: uuid.UUID) -> Grants:
    """Grants of any user by id (a workspace's RBAC questions, the granting rule's
    checks on subjects); an unknown or inactive user holds nothing. Cached (``grants``
    epoch): a hit costs no query of its own. The one place their cache key is spelled,
    for the routes and the fast lane alike (``kit.lookup``)."""
    key, tags = ("user-grants", user_id), partial(Grants.cache_tags, user_id=user_id)
    return await look.get(GRANTS, key, lambda db: _user_grants(db, user_id), tags)


async def load_user_grants(db: AsyncSession, user_id: uuid.UUID) -> Grants:
    """:func:`user_grants` through the request's session."""
    return await user_grants(Loading(db), user_id)


async def _user_grants(db: AsyncSession, user_id: uuid.UUID) -> Grants:
    user = await db.get(User, user_id)
    if user is None or not user.is_active:
        return Grants()
    return await load_grants(db, UserPrincipal.of(user, Credential.api))


async def _load_grants(db: AsyncSession, principal: UserPrincipal) -> Grants:
    grants = Grants(superuser=principal.is_superuser)
    parts = membership.scoped_rows(principal.user_id, principal.organization_id)
    rows = (await db.execute(union_all(*parts))).all()
    return await _grants_from(db, grants, rows)


async def load_team_grants(db: AsyncSession, team_id: uuid.UUID) -> Grants:
    """What membership of a team confers: its role assignments (uncached; for writes)."""
    stmt = select(
        RoleAssignment.role_id,
        RoleAssignment.organization_id,
        RoleAssignment.workspace_id,
        RoleAssignment.project_id,
    ).where(RoleAssignment.team_id == team_id)
    return await _grants_from(db, Grants(), (await db.execute(stmt)).all())


async def _grants_from(
    db: AsyncSession, grants: Grants, rows: Sequence[Row[Any]] | Sequence[tuple[Any, ...]]
) -> Grants:
    """Fill ``grants`` from (role_id, organization_id, workspace_id, project_id) rows; a
    row without a role only records membership."""
    role_ids = {r[0] for r in rows if r[0] is not None}
    pairs = await _role_pairs(db, role_ids)
    for role_id, org_id, ws_id, proj_id in rows:
        org_uuid = _as_uuid(org_id)
        grants.member_orgs.add(org_uuid)
        if ws_id is not None:
            grants.member_workspaces.add(_as_uuid(ws_id))
        if role_id is not None and role_id in pairs:
            level, perms = pairs[role_id]
            grants.grants.append(
                Grant(
                    role_id,
                    level,
                    org_uuid,
                    _as_uuid(ws_id) if ws_id else None,
                    _as_uuid(proj_id) if proj_id else None,
                    perms,
                )
            )
    return grants


def _as_uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


async def _role_pairs(
    db: AsyncSession, role_ids: set[uuid.UUID]
) -> dict[uuid.UUID, tuple[Level, frozenset[Pair]]]:
    if not role_ids:
        return {}
    stmt = (
        select(Role.id, Role.level, RolePermission.resource_type, RolePermission.action)
        .outerjoin(RolePermission, RolePermission.role_id == Role.id)
        .where(Role.id.in_(role_ids))
    )
    levels: dict[uuid.UUID, Level] = {}
    found: dict[uuid.UUID, set[Pair]] = defaultdict(set)
    for rid, level, rtype, action in (await db.execute(stmt)).all():
        levels[rid] = Level(level)
        if rtype is not None:
            found[rid].add((rtype, action))
    return {rid: (levels[rid], frozenset(found[rid])) for rid in levels}
