"""All SQL about organizations and their members."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.authz.membership import org_ids_of
from zenpro.kit.schemas import is_name
from zenpro.models import (
    Invitation,
    Organization,
    Role,
    RoleAssignment,
    Share,
    Team,
    TeamMember,
    User,
    Workspace,
    epochs,
)


async def get(db: AsyncSession, org_id: uuid.UUID) -> Organization | None:
    return await db.get(Organization, org_id)


async def find(db: AsyncSession, id_or_name: str) -> Organization | None:
    """By id, else by name ignoring case (names are unique ignoring case). A name may look
    like a UUID; the id wins, and the name is tried when no organization has that id."""
    try:
        org = await db.get(Organization, uuid.UUID(id_or_name))
    except ValueError:
        org = None
    if org is not None or not is_name(id_or_name):
        return org  # what is not a stored name's form names no organization
    return await db.scalar(select(Organization).where(_name_is(id_or_name)))


def _name_is(name: str) -> ColumnElement[bool]:
    # Both sides through the database's lower(), as uq_organizations_name_lower compares.
    return func.lower(Organization.name) == func.lower(name)


async def name_taken(db: AsyncSession, name: str, exclude: uuid.UUID | None = None) -> bool:
    """Whether another organization (not ``exclude``) has this name, ignoring case."""
    stmt = select(Organization.id).where(_name_is(name))
    if exclude is not None:
        stmt = stmt.where(Organization.id != exclude)
    return (await db.scalar(stmt.limit(1))) is not None


async def count_owned(db: AsyncSession, user_id: uuid.UUID) -> int:
    stmt = select(func.count()).select_from(Organization).where(Organization.owner_id == user_id)
    return int(await db.scalar(stmt) or 0)


def list_stmt(
    viewer_id: uuid.UUID | None, *, name: str | None, owner_id: uuid.UUID | None
) -> Select[Any]:
    """Organizations visible to ``viewer_id`` (None: all, for superusers)."""
    stmt = select(Organization)
    if viewer_id is not None:
        stmt = stmt.where(Organization.id.in_(org_ids_of(viewer_id)))
    if name is not None:
        stmt = stmt.where(_name_is(name))
    if owner_id is not None:
        stmt = stmt.where(Organization.owner_id == owner_id)
    return stmt


async def users_by_id(db: AsyncSession, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, User]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await db.scalars(select(User).where(User.id.in_(wanted)))
    return {u.id: u for u in rows}


async def orgs_by_id(db: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Organization]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await db.scalars(select(Organization).where(Organization.id.in_(wanted)))
    return {o.id: o for o in rows}


async def has_live_workspaces(db: AsyncSession, org_id: uuid.UUID) -> bool:
    stmt = select(Workspace.id).where(
        Workspace.organization_id == org_id, Workspace.status != "deleted"
    )
    return (await db.scalar(stmt.limit(1))) is not None


async def delete_org(db: AsyncSession, org: Organization) -> None:
    # Workspaces, teams, invitations, custom roles, assignments and service accounts
    # go with it through ON DELETE CASCADE.
    await db.delete(org)
    await db.flush()


async def org_roles_by_subject(
    db: AsyncSession,
    org_id: uuid.UUID,
    *,
    users: Collection[uuid.UUID] = (),
    teams: Collection[uuid.UUID] = (),
    invitations: Collection[uuid.UUID] = (),
) -> dict[tuple[str, uuid.UUID], list[Role]]:
    """Organization-scope roles in ``org_id`` of the given subjects, keyed by
    ("user"|"team"|"invitation", id)."""
    if not (users or teams or invitations):
        return {}
    # The assignment's subject columns, not the entity: only the key is needed.
    stmt = (
        select(RoleAssignment.user_id, RoleAssignment.team_id, RoleAssignment.invitation_id, Role)
        .join(Role, Role.id == RoleAssignment.role_id)
        .where(
            RoleAssignment.organization_id == org_id,
            RoleAssignment.workspace_id.is_(None),
            RoleAssignment.project_id.is_(None),
            or_(
                RoleAssignment.user_id.in_(users),
                RoleAssignment.team_id.in_(teams),
                RoleAssignment.invitation_id.in_(invitations),
            ),
        )
        .order_by(Role.name)
    )
    out: dict[tuple[str, uuid.UUID], list[Role]] = {}
    for user_id, team_id, invitation_id, role in (await db.execute(stmt)).all():
        out.setdefault(_subject(user_id, team_id, invitation_id), []).append(role)
    return out


def _subject(
    user_id: uuid.UUID | None, team_id: uuid.UUID | None, invitation_id: uuid.UUID | None
) -> tuple[str, uuid.UUID]:
    if user_id is not None:
        return ("user", user_id)
    if team_id is not None:
        return ("team", team_id)
    assert invitation_id is not None
    return ("invitation", invitation_id)


MemberSections = list[tuple[Select[Any], tuple[Any, ...]]]


def member_sections(org_id: uuid.UUID) -> MemberSections:
    """The org's members as ``fetch_sections`` pages them: users and service accounts (any
    assignment, team or own service account), then teams, then pending invitations."""
    teams = select(Team.id).where(Team.organization_id == org_id)
    ids = (
        select(RoleAssignment.user_id)
        .where(RoleAssignment.organization_id == org_id, RoleAssignment.user_id.isnot(None))
        .union(
            select(TeamMember.user_id).where(
                TeamMember.team_id.in_(teams), TeamMember.user_id.isnot(None)
            ),
            select(User.id).where(User.organization_id == org_id),
        )
    )
    return [
        (select(User).where(User.id.in_(ids)), (User.created, User.id)),
        (select(Team).where(Team.organization_id == org_id), (Team.created, Team.id)),
        (
            select(Invitation).where(
                Invitation.organization_id == org_id, Invitation.accepted.is_(False)
            ),
            (Invitation.created, Invitation.id),
        ),
    ]


async def remove_member(db: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID) -> int:
    """Every assignment (any scope), team membership and share of the user in the org."""
    teams = select(Team.id).where(Team.organization_id == org_id)
    workspaces = select(Workspace.id).where(Workspace.organization_id == org_id)
    removed = 0
    for stmt in (
        delete(RoleAssignment).where(
            RoleAssignment.organization_id == org_id, RoleAssignment.user_id == user_id
        ),
        delete(TeamMember).where(TeamMember.team_id.in_(teams), TeamMember.user_id == user_id),
        delete(Share).where(Share.workspace_id.in_(workspaces), Share.user_id == user_id),
    ):
        scopes = frozenset({epochs.org_scope(org_id), epochs.user_scope(user_id)})
        options = {"synchronize_session": False, "cache_scopes": scopes}
        result: Any = await db.execute(stmt.execution_options(**options))
        removed += int(result.rowcount or 0)
    return removed
