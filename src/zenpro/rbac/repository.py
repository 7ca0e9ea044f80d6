"""All SQL about shares and workspace-side grants."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, delete, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.models import RoleAssignment, Share, TeamMember, User, epochs


async def get_user(db: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await db.get(User, user_id)


def _subject_clause(user_id: uuid.UUID, workspace_id: uuid.UUID) -> ColumnElement[bool]:
    """Shares of the user, direct or through a team, as a UNION of two index lookups
    (an OR across the two columns would make PostgreSQL scan the table)."""
    teams = select(TeamMember.team_id).where(TeamMember.user_id == user_id)
    ids = union_all(
        select(Share.id).where(Share.user_id == user_id, Share.workspace_id == workspace_id),
        select(Share.id).where(Share.team_id.in_(teams), Share.workspace_id == workspace_id),
    )
    return Share.id.in_(ids)


async def shares_of(
    db: AsyncSession, *, user_id: uuid.UUID | None = None, team_id: uuid.UUID | None = None
) -> list[Share]:
    """Every share a user (directly or through a team) or a team holds, in any workspace."""
    if team_id is not None:
        stmt = select(Share).where(Share.team_id == team_id)
    else:
        teams = select(TeamMember.team_id).where(TeamMember.user_id == user_id)
        ids = union_all(
            select(Share.id).where(Share.user_id == user_id),
            select(Share.id).where(Share.team_id.in_(teams)),
        )
        stmt = select(Share).where(Share.id.in_(ids))
    return list((await db.scalars(stmt)).all())


async def shared(
    db: AsyncSession,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID,
    *,
    resource_ids: list[uuid.UUID] | None = None,
    resource_type: str | None = None,
    action: str | None = None,
) -> list[Share]:
    """Shares reaching the user (directly or via a team) in one workspace."""
    stmt = select(Share).where(_subject_clause(user_id, workspace_id))
    if resource_ids is not None:
        stmt = stmt.where(Share.resource_id.in_(resource_ids))
    if resource_type is not None:
        stmt = stmt.where(Share.resource_type == resource_type)
    if action is not None:
        stmt = stmt.where(Share.action == action)
    return list((await db.scalars(stmt)).all())


def _in(workspace_id: uuid.UUID) -> frozenset[str]:
    """What removing shares or assignments in a workspace touches (``kit.cache``): whoever
    held them belongs to the workspace, so their cached answers are tagged with it."""
    return frozenset({epochs.workspace_scope(workspace_id)})


async def replace_share(
    db: AsyncSession,
    *,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID | None,
    team_id: uuid.UUID | None,
    resource_type: str,
    resource_id: uuid.UUID,
    project_id: uuid.UUID | None,
    actions: set[str],
    shared_by: uuid.UUID | None,
) -> None:
    subject = Share.user_id == user_id if user_id else Share.team_id == team_id
    await db.execute(
        delete(Share)
        .where(
            Share.workspace_id == workspace_id,
            subject,
            Share.resource_type == resource_type,
            Share.resource_id == resource_id,
        )
        .execution_options(cache_scopes=_in(workspace_id))
    )
    db.add_all(
        Share.grant(
            workspace_id,
            resource_type,
            resource_id,
            action,
            user_id=user_id,
            team_id=team_id,
            project_id=project_id,
            shared_by_id=shared_by,
        )
        for action in sorted(actions)
    )
    await db.flush()


async def forget(
    db: AsyncSession, workspace_id: uuid.UUID, resource_type: str, resource_id: uuid.UUID
) -> None:
    scopes = _in(workspace_id)
    await db.execute(
        delete(Share)
        .where(
            Share.workspace_id == workspace_id,
            Share.resource_type == resource_type,
            Share.resource_id == resource_id,
        )
        .execution_options(cache_scopes=scopes)
    )
    if resource_type == "project":
        await db.execute(
            delete(Share)
            .where(Share.workspace_id == workspace_id, Share.project_id == resource_id)
            .execution_options(cache_scopes=scopes)
        )
        await db.execute(
            delete(RoleAssignment)
            .where(
                RoleAssignment.workspace_id == workspace_id,
                RoleAssignment.project_id == resource_id,
            )
            .execution_options(cache_scopes=scopes)
        )
