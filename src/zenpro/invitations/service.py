"""Invitation rules: who may be invited with which role, expiry, and acceptance."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.authz import granting
from zenpro.authz.access import Access
from zenpro.authz.granting import Scope
from zenpro.authz.vocabulary import ORG_MEMBER_ID, Level
from zenpro.config import Settings
from zenpro.errors import Conflict, Forbidden, Gone, NotFound
from zenpro.invitations import repository as repo
from zenpro.invitations.schemas import InvitationCreate, InvitationRead, InvitationRole, TeamRef
from zenpro.kit.db import utcnow
from zenpro.models import Invitation, Organization, Role, RoleAssignment, User
from zenpro.organizations import repository as org_repo
from zenpro.organizations.schemas import RoleRef
from zenpro.roles import repository as roles_repo
from zenpro.roles import service as roles
from zenpro.users.schemas import UserRead


def link(settings: Settings, inv_id: uuid.UUID) -> str:
    return f"{settings.base_url}/invitations/{inv_id}"


async def one(db: AsyncSession, inv: Invitation, settings: Settings) -> InvitationRead:
    (read,) = await to_read(db, [inv], settings)
    return read


async def to_read(
    db: AsyncSession, items: Sequence[Invitation], settings: Settings, *, reveal: bool = True
) -> list[InvitationRead]:
    """``reveal=False`` hides the ids and links (lists for those who may not manage
    invitations): knowing an id is half of taking an invitation."""
    ids = [i.id for i in items]
    inviters = await org_repo.users_by_id(db, (i.inviter_id for i in items))
    roles: dict[uuid.UUID, list[InvitationRole]] = {}
    for ra, role in await repo.roles_of(db, ids):
        assert ra.invitation_id is not None
        roles.setdefault(ra.invitation_id, []).append(
            InvitationRole(
                id=ra.id,
                role=RoleRef.of(role, ra.organization_id),
                workspace_id=ra.workspace_id,
                project_id=ra.project_id,
            )
        )
    teams: dict[uuid.UUID, list[TeamRef]] = {}
    for iid, team in await repo.teams_of(db, ids):
        teams.setdefault(iid, []).append(TeamRef(id=team.id, name=team.name))
    return [
        InvitationRead(
            id=i.id if reveal else None,
            email=i.email,
            organization_id=i.organization_id,
            inviter=UserRead.model_validate(inviters[i.inviter_id])
            if i.inviter_id in inviters
            else None,
            roles=roles.get(i.id, []),
            teams=teams.get(i.id, []),
            expires=i.expires,
            accepted=i.accepted,
            created=i.created,
            invite_link=link(settings, i.id) if reveal else None,
        )
        for i in items
    ]


def list_stmt(org: Organization, email: str | None, only_pending: bool) -> Select[Any]:
    return repo.list_stmt(org.id, email=email, only_pending=only_pending, now=utcnow())


async def _org_role(db: AsyncSession, org: Organization, role_id: uuid.UUID) -> Role:
    role = await roles.usable_in(db, role_id, org.id)
    if role is None:
        raise NotFound(f"Role {role_id} not found")
    if role.level != Level.organization:  # the role's state, not the request's form: 409
        raise Conflict(
            f"Role {role.name!r} is a {role.level} role: invitations carry an "
            "organization-level role"
        )
    return role


async def create(
    db: AsyncSession,
    access: Access,
    org: Organization,
    data: InvitationCreate,
    settings: Settings,
) -> Invitation:
    """An invitation carrying one organization role (Organization Member by default), so
    the invitee belongs to the organization as soon as they accept. The inviter must hold
    every permission of that role (``authz.granting``)."""
    role = await _org_role(db, org, data.role_id if data.role_id else ORG_MEMBER_ID)
    pairs = (await roles_repo.pairs_of(db, [role.id])).get(role.id, set())
    granting.require(access.grants, Scope(org.id), pairs, f"the role {role.name!r}")
    now = utcnow()
    if await repo.pending_for(db, org.id, str(data.email), now):
        raise Conflict(f"{data.email} already has a pending invitation to this organization")
    inv = Invitation(
        organization_id=org.id,
        email=str(data.email),
        inviter_id=access.user_id,
        expires=now + timedelta(days=settings.invitation_days),
        accepted=False,
    )
    db.add(inv)
    await db.flush()
    role_id = role.id
    db.add(RoleAssignment.grant(role_id, organization_id=org.id, invitation_id=inv.id))
    await db.flush()
    return inv


async def get_in_org(db: AsyncSession, org: Organization, inv_id: uuid.UUID) -> Invitation:
    inv = await repo.get(db, inv_id)
    if inv is None or inv.organization_id != org.id:
        raise NotFound(f"Invitation {inv_id} not found")
    return inv


async def delete(db: AsyncSession, org: Organization, inv_id: uuid.UUID) -> None:
    # The assignments and team places it carries go with it (ON DELETE CASCADE).
    await db.delete(await get_in_org(db, org, inv_id))
    await db.flush()


async def get_mine(db: AsyncSession, access: Access, inv_id: uuid.UUID) -> Invitation:
    """An invitation addressed to the caller's *verified* email (case-insensitive); else
    404, or 403 when the address matches but is not verified: an email one has just set
    oneself proves nothing, so it cannot take an invitation."""
    inv = await repo.get(db, inv_id)
    users = await org_repo.users_by_id(db, [access.user_id])
    me = users.get(access.user_id)
    email = (me.email or "").lower() if me else ""
    if inv is None or me is None or not email or inv.email.lower() != email:
        raise NotFound(f"Invitation {inv_id} not found")
    if not me.email_verified:
        raise Forbidden(
            "Your email address is not verified: sign in with single sign-on, or ask an "
            "administrator to confirm it (PATCH /users/{id} with email_verified), then accept"
        )
    return inv


async def pending_mine(db: AsyncSession, user: User) -> list[tuple[Invitation, str]]:
    """The pending invitations :func:`get_mine` would let ``user`` open and accept (to
    their verified email), with their organization's name; none without one."""
    if not user.email or not user.email_verified:
        return []
    return await repo.pending_addressed_to(db, user.email, utcnow())


async def accept(db: AsyncSession, access: Access, inv_id: uuid.UUID) -> Invitation:
    """In one transaction: the invitation's role assignments and team places become the
    caller's, and the invitation is marked accepted (once: a second accept is 409)."""
    inv = await get_mine(db, access, inv_id)
    if inv.accepted:
        raise Conflict("This invitation has already been accepted")
    if inv.expires <= utcnow():
        raise Gone(
            f"This invitation expired on {inv.expires:%Y-%m-%d %H:%M} UTC: ask the "
            "organization for a new one"
        )
    uid = access.user_id
    if not await repo.mark_accepted(db, inv.id, uid):
        raise Conflict("This invitation has already been accepted")
    for ra in await repo.carried_assignments(db, inv.id):
        key = RoleAssignment.grant(
            ra.role_id,
            organization_id=ra.organization_id,
            user_id=uid,
            workspace_id=ra.workspace_id,
            project_id=ra.project_id,
        ).scope_key
        if await repo.scope_key_exists(db, key):
            await db.delete(ra)  # they already hold it
        else:
            ra.user_id, ra.invitation_id, ra.scope_key = uid, None, key
    for tm in await repo.carried_teams(db, inv.id):
        if await repo.in_team(db, tm.team_id, uid):
            await db.delete(tm)
        else:
            tm.user_id, tm.invitation_id = uid, None
    await db.flush()
    fresh = await repo.get(db, inv.id)
    assert fresh is not None
    return fresh


async def offerable_roles(db: AsyncSession, access: Access, org: Organization) -> list[Role]:
    """The organization-level roles ``access`` may put on an invitation in ``org`` (what
    :func:`create` would accept: each role's permissions all held by the inviter), by
    name; the console offers only these."""
    stmt = roles.org_roles(access, org.id, Level.organization, None)
    scope = Scope(org.id)
    found = await roles_repo.with_pairs(db, stmt)
    return [r for r, pairs in found if not granting.missing(access.grants, scope, pairs)]
