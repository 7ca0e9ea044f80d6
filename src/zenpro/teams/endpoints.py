"""/teams and /organizations/{id}/teams (spec §5)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query

from zenpro import routing
from zenpro.authz.guards import Authenticated
from zenpro.deps import DB
from zenpro.errors import Conflict, NotFound, error_responses, invalid_query
from zenpro.kit.pagination import Paged
from zenpro.kit.schemas import Empty
from zenpro.models import Team
from zenpro.organizations.deps import OrgRead
from zenpro.teams import repository as repo
from zenpro.teams import service
from zenpro.teams.deps import TeamDelete, TeamRead, TeamUpdate
from zenpro.teams.schemas import TeamCreate, TeamMemberRead
from zenpro.teams.schemas import TeamRead as TeamOut
from zenpro.teams.schemas import TeamUpdate as TeamUpdateBody

router = routing.router(tags=["teams"])
UserIdQuery = Annotated[uuid.UUID | None, Query(description="A user (or invitation_id).")]
InvitationIdQuery = Annotated[
    uuid.UUID | None, Query(description="A pending invitation (or user_id).")
]


async def _member(
    user_id: UserIdQuery = None, invitation_id: InvitationIdQuery = None
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """The member a membership request names: exactly one of a user and an invitation."""
    if (user_id is None) == (invitation_id is None):
        raise invalid_query("user_id", "Give exactly one of user_id and invitation_id")
    return user_id, invitation_id


Member = Annotated[tuple[uuid.UUID | None, uuid.UUID | None], Depends(_member)]


@router.post(
    "/teams",
    summary="Create a team",
    status_code=201,
    responses=error_responses(NotFound, Conflict),
)
async def create_team(db: DB, access: Authenticated, body: TeamCreate) -> TeamOut:
    team = await service.create(db, access, body)
    return await service.one(db, team)


@router.get("/organizations/{organization_id}/teams")
async def list_organization_teams(
    db: DB,
    scoped: OrgRead,
    paging: Paged,
) -> list[TeamOut]:
    """List an organization's teams

    All of them for roles that read teams; otherwise the caller's own teams. Bare JSON array;
    `X-Total-Count` and `Link` headers.
    """
    org = scoped.obj
    sees_all = scoped.access.grants.org_allows(org.id, "team", "read")
    stmt = repo.list_stmt(org.id, None if sees_all else scoped.access.user_id)
    items = await paging.fetch(db, stmt, Team.created, Team.id)
    return await service.to_read(db, items)


@router.get("/teams/{team_id}", summary="Get a team")
async def get_team(db: DB, scoped: TeamRead) -> TeamOut:
    return await service.one(db, scoped.obj)


@router.patch(
    "/teams/{team_id}",
    summary="Update a team",
    responses=error_responses(Conflict),
)
async def update_team(db: DB, scoped: TeamUpdate, body: TeamUpdateBody) -> TeamOut:
    team = await service.update(db, scoped.obj, body)
    return await service.one(db, team)


@router.delete("/teams/{team_id}")
async def delete_team(db: DB, scoped: TeamDelete) -> Empty:
    """Delete a team

    Its memberships and role assignments go with it.
    """
    await service.delete(db, scoped.obj)
    return Empty()


@router.get("/teams/{team_id}/members")
async def list_team_members(db: DB, scoped: TeamRead, paging: Paged) -> list[TeamMemberRead]:
    """List a team's members

    Users and pending invitations. Bare JSON array.
    """
    page = await service.members(db, scoped.obj, paging.params)
    paging.headers(page)
    return page.items


@router.post("/teams/{team_id}/members", responses=error_responses(Conflict))
async def add_team_member(db: DB, scoped: TeamUpdate, member: Member) -> Empty:
    """Add a team member

    Exactly one of `user_id` (someone already in the organization) and `invitation_id` (a pending
    invitation of the organization); 409 if already a member.
    """
    await service.add_member(db, scoped.access, scoped.obj, *member)
    return Empty()


@router.delete("/teams/{team_id}/members")
async def remove_team_member(db: DB, scoped: TeamUpdate, member: Member) -> Empty:
    """Remove a team member

    Exactly one of `user_id` and `invitation_id`.
    """
    await service.remove_member(db, scoped.obj, *member)
    return Empty()
