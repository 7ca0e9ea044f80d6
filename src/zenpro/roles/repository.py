"""All SQL about roles and role assignments."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased as orm_alias

from zenpro.authz.granting import Scope
from zenpro.models import Invitation, Team, User, Workspace, epochs
from zenpro.models.role import Role, RolePermission
from zenpro.models.role_alias import RoleAlias
from zenpro.models.role_assignment import RoleAssignment


async def get_role(db: AsyncSession, role_id: uuid.UUID) -> Role | None:
    return await db.get(Role, role_id)


async def pairs_of(
    db: AsyncSession, role_ids: list[uuid.UUID]
) -> dict[uuid.UUID, set[tuple[str, str]]]:
    out: dict[uuid.UUID, set[tuple[str, str]]] = defaultdict(set)
    if role_ids:
        stmt = select(RolePermission).where(RolePermission.role_id.in_(role_ids))
        for perm in (await db.scalars(stmt)).all():
            out[perm.role_id].add((perm.resource_type, perm.action))
    return out


async def with_pairs(
    db: AsyncSession, roles: Select[Any]
) -> list[tuple[Role, set[tuple[str, str]]]]:
    """The roles ``roles`` selects, by name, each with its permission pairs: one statement
    (an outer join) rather than :func:`pairs_of` after the roles."""
    picked = orm_alias(Role, roles.order_by(None).subquery())
    stmt = (
        select(picked, RolePermission.resource_type, RolePermission.action)
        .outerjoin(RolePermission, RolePermission.role_id == picked.id)
        .order_by(picked.name, picked.id)
    )
    out: dict[uuid.UUID, tuple[Role, set[tuple[str, str]]]] = {}
    for role, rtype, action in (await db.execute(stmt)).all():
        _, pairs = out.setdefault(role.id, (role, set()))
        if rtype is not None:
            pairs.add((rtype, action))
    return list(out.values())


async def name_taken(
    db: AsyncSession, org_id: uuid.UUID | None, name: str, exclude: uuid.UUID | None = None
) -> bool:
    """Whether a system role, or another custom role (not ``exclude``) of ``org_id``, has
    this name ignoring case (the database's lower(), as uq_roles_org_name_lower compares;
    the system roles are fixed data, so this check cannot race with their creation)."""
    stmt = select(Role.id).where(
        func.lower(Role.name) == func.lower(name),
        (Role.organization_id == org_id) | Role.organization_id.is_(None),
    )
    if exclude is not None:
        stmt = stmt.where(Role.id != exclude)
    return (await db.scalar(stmt.limit(1))) is not None


def org_roles_stmt(org_id: uuid.UUID, level: str | None, name: str | None) -> Select[Any]:
    stmt = select(Role).where((Role.organization_id == org_id) | Role.organization_id.is_(None))
    if level is not None:
        stmt = stmt.where(Role.level == level)
    if name is not None:
        stmt = stmt.where(func.lower(Role.name) == func.lower(name))
    return stmt


async def replace_permissions(
    db: AsyncSession, role_id: uuid.UUID, pairs: set[tuple[str, str]]
) -> None:
    scopes = frozenset({epochs.role_scope(role_id)})
    await db.execute(
        delete(RolePermission)
        .where(RolePermission.role_id == role_id)
        .execution_options(cache_scopes=scopes)
    )
    db.add_all(RolePermission(role_id=role_id, resource_type=t, action=a) for t, a in sorted(pairs))
    await db.flush()


async def count_assignments(db: AsyncSession, role_id: uuid.UUID) -> int:
    stmt = select(func.count()).select_from(RoleAssignment).where(RoleAssignment.role_id == role_id)
    return int(await db.scalar(stmt) or 0)


async def assignment_scopes(db: AsyncSession, role_id: uuid.UUID) -> list[Scope]:
    """Every distinct scope the role is assigned at (to anyone: user, team, invitation)."""
    stmt = (
        select(
            RoleAssignment.organization_id, RoleAssignment.workspace_id, RoleAssignment.project_id
        )
        .where(RoleAssignment.role_id == role_id)
        .distinct()
    )
    return [Scope(o, w, p) for o, w, p in (await db.execute(stmt)).all()]


def assignments_stmt(role_id: uuid.UUID, **filters: uuid.UUID | None) -> Select[Any]:
    stmt = select(RoleAssignment).where(RoleAssignment.role_id == role_id)
    for column, value in filters.items():
        if value is not None:
            stmt = stmt.where(getattr(RoleAssignment, column) == value)
    return stmt


def org_assignments_stmt(
    org_id: uuid.UUID,
    *,
    role_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    team_id: uuid.UUID | None = None,
) -> Select[RoleAssignment, Role, str, str, str, str]:
    """An organization's assignments (of one role, or of one user or team), each with its
    role, the workspace's name and the holder's name (user, team or invited email): one
    statement, for pages that list them."""
    stmt = (
        select(RoleAssignment, Role, Workspace.name, User.username, Team.name, Invitation.email)
        .join(Role, Role.id == RoleAssignment.role_id)
        .outerjoin(Workspace, Workspace.id == RoleAssignment.workspace_id)
        .outerjoin(User, User.id == RoleAssignment.user_id)
        .outerjoin(Team, Team.id == RoleAssignment.team_id)
        .outerjoin(Invitation, Invitation.id == RoleAssignment.invitation_id)
        .where(RoleAssignment.organization_id == org_id)
    )
    for column, value in (("role_id", role_id), ("user_id", user_id), ("team_id", team_id)):
        if value is not None:
            stmt = stmt.where(getattr(RoleAssignment, column) == value)
    return stmt.order_by(Role.level, Role.name, Workspace.name, RoleAssignment.id)


async def find_assignment(
    db: AsyncSession, scope_key: str, *, for_update: bool = False
) -> RoleAssignment | None:
    stmt = select(RoleAssignment).where(RoleAssignment.scope_key == scope_key)
    if for_update:  # concurrent revocations: the losers wait, then find nothing (404)
        stmt = stmt.with_for_update()
    return (await db.scalars(stmt)).first()


async def subjects(
    db: AsyncSession, assignments: list[RoleAssignment]
) -> tuple[dict[uuid.UUID, User], dict[uuid.UUID, Team]]:
    user_ids = {a.user_id for a in assignments if a.user_id}
    team_ids = {a.team_id for a in assignments if a.team_id}
    users = (await db.scalars(select(User).where(User.id.in_(user_ids)))).all() if user_ids else []
    teams = (await db.scalars(select(Team).where(Team.id.in_(team_ids)))).all() if team_ids else []
    return {u.id: u for u in users}, {t.id: t for t in teams}


async def aliased(db: AsyncSession, alias: uuid.UUID) -> tuple[Role, uuid.UUID] | None:
    """The system role and organization an alias names (``models.role_alias``)."""
    row = (
        await db.execute(
            select(Role, RoleAlias.organization_id)
            .join(RoleAlias, RoleAlias.role_id == Role.id)
            .where(RoleAlias.id == alias)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def organization_of(
    db: AsyncSession,
    user_id: uuid.UUID | None,
    team_id: uuid.UUID | None,
    invitation_id: uuid.UUID | None,
) -> uuid.UUID | None:
    """The one organization a subject belongs to, when it has exactly one by nature: a
    team, an invitation, a service account (a human user may belong to many: None)."""
    if team_id is not None:
        return await db.scalar(select(Team.organization_id).where(Team.id == team_id))
    if invitation_id is not None:
        inv = select(Invitation.organization_id).where(Invitation.id == invitation_id)
        return await db.scalar(inv)
    if user_id is not None:
        sa = select(User.organization_id).where(User.id == user_id, User.is_service_account)
        return await db.scalar(sa)
    return None


async def get_user(db: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await db.get(User, user_id)


async def get_team(db: AsyncSession, team_id: uuid.UUID) -> Team | None:
    return await db.get(Team, team_id)


async def get_invitation(db: AsyncSession, invitation_id: uuid.UUID) -> Invitation | None:
    return await db.get(Invitation, invitation_id)


async def get_workspace(db: AsyncSession, workspace_id: uuid.UUID) -> Workspace | None:
    return await db.get(Workspace, workspace_id)
