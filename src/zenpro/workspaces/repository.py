"""All SQL about workspaces."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, delete, false, func, or_, select, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.kit.db import utcnow
from zenpro.kit.schemas import is_slug
from zenpro.models import Role, RoleAssignment, Share, TeamMember, Token, User, Workspace


async def get(db: AsyncSession, ws_id: uuid.UUID) -> Workspace | None:
    return await db.get(Workspace, ws_id, populate_existing=True)


async def find(db: AsyncSession, id_or_name: str) -> Workspace | None:
    """By UUID (any status), else the live workspace with that name."""
    try:
        return await get(db, uuid.UUID(id_or_name))
    except ValueError:
        pass
    if not is_slug(id_or_name):
        return None
    stmt = select(Workspace).where(Workspace.name == id_or_name, Workspace.status != "deleted")
    return await db.scalar(stmt)


async def live_name_taken(db: AsyncSession, name: str) -> bool:
    stmt = select(Workspace.id).where(Workspace.name == name, Workspace.status != "deleted")
    return (await db.scalar(stmt)) is not None


@dataclass(frozen=True)
class Filters:
    workspace_id: uuid.UUID | None = None
    workspace_name: str | None = None
    url: str | None = None
    organization_id: uuid.UUID | None = None
    status: str | None = None
    is_managed: bool | None = None
    owner_id: uuid.UUID | None = None


def list_stmt(
    filters: Filters,
    *,
    readable_orgs: Collection[uuid.UUID] | None,
    member_of: Collection[uuid.UUID] | None,
) -> Select[Any]:
    """``readable_orgs`` None: no org restriction (superuser). ``member_of`` not None: the
    workspaces the caller is a member of are visible too (or, with readable_orgs empty and
    member_only, the only ones)."""
    stmt = select(Workspace)
    if readable_orgs is not None:
        visible = [Workspace.organization_id.in_(readable_orgs)] if readable_orgs else []
        if member_of:
            visible.append(Workspace.id.in_(member_of))
        stmt = stmt.where(or_(*visible) if visible else false())
    elif member_of is not None:
        stmt = stmt.where(Workspace.id.in_(member_of) if member_of else false())
    f = filters
    if f.workspace_id is not None:
        stmt = stmt.where(Workspace.id == f.workspace_id)
    if f.workspace_name is not None:
        stmt = stmt.where(Workspace.name == f.workspace_name)
    if f.url is not None:
        stmt = stmt.where(func.rtrim(Workspace.server_url, "/") == f.url.rstrip("/"))
    if f.organization_id is not None:
        stmt = stmt.where(Workspace.organization_id == f.organization_id)
    if f.status is not None:
        stmt = stmt.where(Workspace.status == f.status)
    else:
        stmt = stmt.where(Workspace.status != "deleted")
    if f.is_managed is not None:
        stmt = stmt.where(Workspace.is_managed == f.is_managed)
    if f.owner_id is not None:
        stmt = stmt.where(Workspace.owner_id == f.owner_id)
    return stmt


async def compare_and_set(
    db: AsyncSession, ws_id: uuid.UUID, expected: str, new: str, **values: Any
) -> bool:
    """``UPDATE … WHERE id=:id AND status=:expected``: only one instance wins a transition."""
    now = utcnow()
    if new != expected:
        values["status_updated"] = now
    stmt = (
        update(Workspace)
        .where(Workspace.id == ws_id, Workspace.status == expected)
        .values(status=new, updated=now, **values)
        .execution_options(synchronize_session=False)
    )
    result: Any = await db.execute(stmt)
    return int(result.rowcount or 0) == 1


async def needing_work(db: AsyncSession, *, supervised: bool = False) -> list[uuid.UUID]:
    """Workspaces whose status is not their desired state; ``supervised``: and the managed
    ones that are available (their provisioner checks that their server still runs)."""
    todo = Workspace.status != Workspace.desired_state
    if supervised:
        todo = or_(todo, and_(Workspace.is_managed, Workspace.status == "available"))
    stmt = (
        select(Workspace.id)
        .where(todo, Workspace.status != "deleted")
        .order_by(Workspace.status_updated, Workspace.id)
    )
    return list(await db.scalars(stmt))


@dataclass(frozen=True)
class Lifecycle:
    desired_state: str
    status: str
    status_updated: datetime


async def lifecycles(db: AsyncSession, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Lifecycle]:
    """Desired state, status and its time of these workspaces (missing ids: no row)."""
    if not ids:
        return {}
    cols = (Workspace.id, Workspace.desired_state, Workspace.status, Workspace.status_updated)
    rows = await db.execute(select(*cols).where(Workspace.id.in_(ids)))
    return {r[0]: Lifecycle(r[1], r[2], r[3]) for r in rows.all()}


# Managed workspaces that run, or are about to run, a server of their own.
NOT_RUNNING = ("deleted", "deactivated", "failed")


async def count_running_managed(db: AsyncSession) -> int:
    stmt = select(func.count(Workspace.id)).where(
        Workspace.is_managed, Workspace.status.not_in(NOT_RUNNING)
    )
    return int(await db.scalar(stmt) or 0)


async def set_enrollment_key(db: AsyncSession, ws_id: uuid.UUID, key_hash: str) -> bool:
    """A new enrollment key (its hash) for a live workspace; the machine tokens minted
    with the old one end. False when the workspace is deleted or gone."""
    stmt = (
        update(Workspace)
        .where(Workspace.id == ws_id, Workspace.status != "deleted")
        .values(enrollment_key_hash=key_hash)
        .execution_options(synchronize_session=False)
    )
    result: Any = await db.execute(stmt)
    await revoke_machine_tokens(db, ws_id)
    return int(result.rowcount or 0) == 1


async def revoke_machine_tokens(db: AsyncSession, ws_id: uuid.UUID) -> None:
    await db.execute(
        delete(Token)
        .where(Token.workspace_id == ws_id)
        .execution_options(synchronize_session=False)
    )


def by_username(db: AsyncSession) -> tuple[Any]:
    """Order by username character by character (capitals first) on every backend, as
    SQLite does by default; PostgreSQL would otherwise use the database's locale."""
    if db.get_bind().dialect.name == "postgresql":
        return (User.username.collate("C"),)
    return (User.username,)


def members_stmt(ws_id: uuid.UUID) -> Select[User]:
    """Users with a workspace role in ``ws_id`` (directly or through a team) or a share in
    it (directly or through a team)."""
    assigned_teams = select(RoleAssignment.team_id).where(RoleAssignment.workspace_id == ws_id)
    shared_teams = select(Share.team_id).where(Share.workspace_id == ws_id)
    ids = union(
        select(RoleAssignment.user_id).where(RoleAssignment.workspace_id == ws_id),
        select(TeamMember.user_id).where(TeamMember.team_id.in_(assigned_teams)),
        select(Share.user_id).where(Share.workspace_id == ws_id),
        select(TeamMember.user_id).where(TeamMember.team_id.in_(shared_teams)),
    )
    return select(User).where(User.id.in_(ids))


async def workspace_roles(
    db: AsyncSession, ws_id: uuid.UUID, user_ids: Collection[uuid.UUID]
) -> list[tuple[uuid.UUID, Role]]:
    """(user id, workspace role) of these users in ``ws_id``, direct or through a team."""
    if not user_ids:
        return []
    direct = (
        select(RoleAssignment.user_id, Role)
        .join(Role, Role.id == RoleAssignment.role_id)
        .where(RoleAssignment.workspace_id == ws_id, RoleAssignment.user_id.in_(user_ids))
    )
    via_team = (
        select(TeamMember.user_id, Role)
        .join(RoleAssignment, RoleAssignment.team_id == TeamMember.team_id)
        .join(Role, Role.id == RoleAssignment.role_id)
        .where(RoleAssignment.workspace_id == ws_id, TeamMember.user_id.in_(user_ids))
    )
    rows: list[tuple[uuid.UUID, Role]] = []
    for stmt in (direct, via_team):
        rows += [(uid, role) for uid, role in (await db.execute(stmt)).all() if uid is not None]
    return rows
