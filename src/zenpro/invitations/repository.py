"""All SQL about invitations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.models import Invitation, Organization, Role, RoleAssignment, Team, TeamMember


async def get(db: AsyncSession, invitation_id: uuid.UUID) -> Invitation | None:
    return await db.get(Invitation, invitation_id, populate_existing=True)


def list_stmt(
    org_id: uuid.UUID, *, email: str | None, only_pending: bool, now: datetime
) -> Select[Any]:
    stmt = select(Invitation).where(Invitation.organization_id == org_id)
    if email is not None:
        stmt = stmt.where(func.lower(Invitation.email) == email.lower())
    if only_pending:
        stmt = stmt.where(Invitation.accepted.is_(False), Invitation.expires > now)
    return stmt


async def pending_addressed_to(
    db: AsyncSession, email: str, now: datetime, limit: int = 50
) -> list[tuple[Invitation, str]]:
    """Pending, unexpired invitations to ``email`` (ignoring case) in any organization,
    each with the organization's name: one statement."""
    stmt = (
        select(Invitation, Organization.name)
        .join(Organization, Organization.id == Invitation.organization_id)
        .where(
            func.lower(Invitation.email) == email.lower(),
            Invitation.accepted.is_(False),
            Invitation.expires > now,
        )
        .order_by(Invitation.created, Invitation.id)
        .limit(limit)
    )
    return [(inv, name) for inv, name in (await db.execute(stmt)).all()]


async def pending_for(db: AsyncSession, org_id: uuid.UUID, email: str, now: datetime) -> bool:
    stmt = list_stmt(org_id, email=email, only_pending=True, now=now).with_only_columns(
        Invitation.id
    )
    return (await db.scalar(stmt.limit(1))) is not None


async def roles_of(db: AsyncSession, ids: Sequence[uuid.UUID]) -> list[tuple[RoleAssignment, Role]]:
    if not ids:
        return []
    stmt = (
        select(RoleAssignment, Role)
        .join(Role, Role.id == RoleAssignment.role_id)
        .where(RoleAssignment.invitation_id.in_(ids))
        .order_by(RoleAssignment.created, RoleAssignment.id)
    )
    return [(ra, r) for ra, r in (await db.execute(stmt)).all()]


async def teams_of(db: AsyncSession, ids: Sequence[uuid.UUID]) -> list[tuple[uuid.UUID, Team]]:
    if not ids:
        return []
    stmt = (
        select(TeamMember.invitation_id, Team)
        .join(Team, Team.id == TeamMember.team_id)
        .where(TeamMember.invitation_id.in_(ids))
        .order_by(Team.name)
    )
    return [(iid, t) for iid, t in (await db.execute(stmt)).all() if iid is not None]


async def mark_accepted(db: AsyncSession, inv_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """Compare-and-set: only one acceptance wins."""
    stmt = (
        update(Invitation)
        .where(Invitation.id == inv_id, Invitation.accepted.is_(False))
        .values(accepted=True, accepted_by_id=user_id)
        .execution_options(synchronize_session=False)
    )
    result: Any = await db.execute(stmt)
    return int(result.rowcount or 0) == 1


async def carried_assignments(db: AsyncSession, inv_id: uuid.UUID) -> list[RoleAssignment]:
    stmt = select(RoleAssignment).where(RoleAssignment.invitation_id == inv_id)
    return list(await db.scalars(stmt))


async def carried_teams(db: AsyncSession, inv_id: uuid.UUID) -> list[TeamMember]:
    return list(await db.scalars(select(TeamMember).where(TeamMember.invitation_id == inv_id)))


async def scope_key_exists(db: AsyncSession, key: str) -> bool:
    stmt = select(RoleAssignment.id).where(RoleAssignment.scope_key == key)
    return (await db.scalar(stmt)) is not None


async def in_team(db: AsyncSession, team_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    stmt = select(TeamMember.id).where(TeamMember.team_id == team_id, TeamMember.user_id == user_id)
    return (await db.scalar(stmt)) is not None
