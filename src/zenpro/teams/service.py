"""Team rules: visibility, creation, membership."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.authz import granting
from zenpro.authz.access import Access, require_org
from zenpro.authz.checker import load_team_grants
from zenpro.errors import Conflict, NotFound, flush_or_conflict
from zenpro.kit.db import apply_changes
from zenpro.kit.pagination import PageParams, Slice
from zenpro.models import Team, TeamMember
from zenpro.organizations import repository as org_repo
from zenpro.rbac import repository as rbac_repo
from zenpro.rbac import service as rbac
from zenpro.teams import repository as repo
from zenpro.teams.schemas import TeamCreate, TeamMemberRead, TeamRead, TeamUpdate
from zenpro.users.schemas import UserRead


async def to_read(db: AsyncSession, teams: Sequence[Team]) -> list[TeamRead]:
    counts = await repo.member_counts(db, [t.id for t in teams])
    return [
        TeamRead(
            id=t.id,
            name=t.name,
            description=t.description,
            organization_id=t.organization_id,
            member_count=counts.get(t.id, 0),
            created=t.created,
            updated=t.updated,
        )
        for t in teams
    ]


async def one(db: AsyncSession, team: Team) -> TeamRead:
    (read,) = await to_read(db, [team])
    return read


async def can_see(db: AsyncSession, access: Access, team: Team) -> bool:
    """A team is visible to its members and to org roles that read teams."""
    grants = access.grants
    if not grants.in_org(team.organization_id):
        return False
    if grants.org_allows(team.organization_id, "team", "read"):
        return True
    return await repo.is_member(db, team.id, access.user_id)


async def create(db: AsyncSession, access: Access, data: TeamCreate) -> Team:
    org_id = data.organization_id
    require_org(access.grants, org_id, "team", "create", "teams")
    if await org_repo.get(db, org_id) is None:
        raise NotFound(f"Organization {org_id} not found")
    conflict = f"A team named {data.name!r} already exists in this organization"
    if await repo.name_taken(db, org_id, data.name):
        raise Conflict(conflict)
    team = Team(name=data.name, description=data.description, organization_id=org_id)
    db.add(team)
    await flush_or_conflict(db, conflict)
    return team


async def update(db: AsyncSession, team: Team, data: TeamUpdate) -> Team:
    changes = data.model_dump(exclude_unset=True)
    name = changes.get("name")
    conflict = f"A team named {name!r} already exists in this organization"
    if (
        name
        and name != team.name
        and await repo.name_taken(db, team.organization_id, name, team.id)
    ):
        raise Conflict(conflict)
    apply_changes(team, changes, required=("name",))
    await flush_or_conflict(db, conflict)
    return team


async def delete(db: AsyncSession, team: Team) -> None:
    # Its memberships and role assignments go with it (ON DELETE CASCADE).
    await db.delete(team)
    await db.flush()


async def members(db: AsyncSession, team: Team, page: PageParams) -> Slice[TeamMemberRead]:
    """One page of the team's members (items: :class:`TeamMemberRead`)."""
    page_ = await repo.members(db, team.id, page)
    items = [
        TeamMemberRead(
            user=UserRead.model_validate(user) if user is not None else None,
            invitation_id=m.invitation_id,
            email=user.email if user is not None else inv.email if inv is not None else None,
            created=m.created,
        )
        for m, user, inv in page_.items
    ]
    return replace(page_, items=items)


async def add_member(
    db: AsyncSession,
    access: Access,
    team: Team,
    user_id: uuid.UUID | None,
    invitation_id: uuid.UUID | None,
) -> None:
    """Only people who already belong to the organization (or its pending invitations)
    can join its teams; superusers may add any user. Joining confers everything the team
    holds, so the caller must hold all of it (``authz.granting``)."""
    await require_may_confer(db, access, team)
    if user_id is not None:
        await _check_user(db, access, team, user_id)
    elif (
        invitation_id is not None
        and await repo.pending_invitation(db, invitation_id, team.organization_id) is None
    ):
        raise NotFound(f"Pending invitation {invitation_id} not found in this organization")
    db.add(TeamMember(team_id=team.id, user_id=user_id, invitation_id=invitation_id))
    await flush_or_conflict(db, "Already a member of this team")


async def require_may_confer(db: AsyncSession, access: Access, team: Team) -> None:
    what = f"the team {team.name!r}"
    granting.require_subject(access.grants, await load_team_grants(db, team.id), what)
    shares = await rbac_repo.shares_of(db, team_id=team.id)
    await rbac.require_may_confer_shares(db, access.user_id, access.grants, shares, what)


async def _check_user(db: AsyncSession, access: Access, team: Team, user_id: uuid.UUID) -> None:
    in_org = await repo.user_in_org(db, user_id, team.organization_id)
    exists = in_org or (access.grants.superuser and await org_repo.users_by_id(db, [user_id]))
    if not exists:
        raise NotFound(f"User {user_id} is not a member of this organization")
    if await repo.is_member(db, team.id, user_id):
        raise Conflict("The user is already a member of this team")


async def remove_member(
    db: AsyncSession, team: Team, user_id: uuid.UUID | None, invitation_id: uuid.UUID | None
) -> None:
    if await repo.remove_member(db, team.id, user_id, invitation_id) == 0:
        raise NotFound("Not a member of this team")
