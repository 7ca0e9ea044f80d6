"""All SQL about teams."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.authz.membership import org_ids_of
from zenpro.kit.pagination import PageParams, Slice, fetch_page
from zenpro.models import Invitation, Team, TeamMember, User


async def get(db: AsyncSession, team_id: uuid.UUID) -> Team | None:
    return await db.get(Team, team_id)


async def is_member(db: AsyncSession, team_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    stmt = select(TeamMember.id).where(TeamMember.team_id == team_id, TeamMember.user_id == user_id)
    return (await db.scalar(stmt)) is not None


async def name_taken(
    db: AsyncSession, org_id: uuid.UUID, name: str, exclude: uuid.UUID | None = None
) -> bool:
    """Whether another team (not ``exclude``) of the organization has this name, ignoring
    case: both sides through the database's lower(), as uq_teams_org_name_lower compares."""
    stmt = select(Team.id).where(
        Team.organization_id == org_id, func.lower(Team.name) == func.lower(name)
    )
    if exclude is not None:
        stmt = stmt.where(Team.id != exclude)
    return (await db.scalar(stmt.limit(1))) is not None


def list_stmt(org_id: uuid.UUID, member_user_id: uuid.UUID | None) -> Select[Any]:
    """The org's teams; with ``member_user_id``, only the teams that user is in."""
    stmt = select(Team).where(Team.organization_id == org_id)
    if member_user_id is not None:
        mine = select(TeamMember.team_id).where(TeamMember.user_id == member_user_id)
        stmt = stmt.where(Team.id.in_(mine))
    return stmt


async def member_counts(db: AsyncSession, team_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not team_ids:
        return {}
    stmt = (
        select(TeamMember.team_id, func.count())
        .where(TeamMember.team_id.in_(team_ids))
        .group_by(TeamMember.team_id)
    )
    return {tid: int(n) for tid, n in (await db.execute(stmt)).all()}


async def members(db: AsyncSession, team_id: uuid.UUID, page: PageParams) -> Slice[Any]:
    """One page of (membership, user or None, invitation or None), oldest first."""
    stmt = (
        select(TeamMember, User, Invitation)
        .outerjoin(User, User.id == TeamMember.user_id)
        .outerjoin(Invitation, Invitation.id == TeamMember.invitation_id)
        .where(TeamMember.team_id == team_id)
    )
    return await fetch_page(db, stmt, page, TeamMember.created, TeamMember.id, rows=True)


async def user_in_org(db: AsyncSession, user_id: uuid.UUID, org_id: uuid.UUID) -> bool:
    orgs = org_ids_of(user_id).subquery()
    stmt = select(orgs.c[0]).where(orgs.c[0] == org_id).limit(1)
    return (await db.scalar(stmt)) is not None


async def pending_invitation(
    db: AsyncSession, invitation_id: uuid.UUID, org_id: uuid.UUID
) -> Invitation | None:
    stmt = select(Invitation).where(
        Invitation.id == invitation_id,
        Invitation.organization_id == org_id,
        Invitation.accepted.is_(False),
    )
    return await db.scalar(stmt)


async def remove_member(
    db: AsyncSession, team_id: uuid.UUID, user_id: uuid.UUID | None, invitation_id: uuid.UUID | None
) -> int:
    who = (
        TeamMember.user_id == user_id
        if user_id is not None
        else TeamMember.invitation_id == invitation_id
    )
    stmt = delete(TeamMember).where(TeamMember.team_id == team_id, who)
    result: Any = await db.execute(stmt.execution_options(synchronize_session=False))
    return int(result.rowcount or 0)
