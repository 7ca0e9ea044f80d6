"""Organization rules: creation with its owner, limits, deletion, members."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.authz.access import Access
from zenpro.authz.vocabulary import ORG_ADMIN_ID
from zenpro.config import Settings
from zenpro.errors import Conflict, Forbidden, NotFound, SubscriptionLimit, flush_or_conflict
from zenpro.kit.db import apply_changes
from zenpro.kit.pagination import PageParams, Slice, fetch_sections
from zenpro.models import Organization, Role, RoleAssignment, User
from zenpro.organizations import repository as repo
from zenpro.organizations.schemas import (
    MemberRead,
    MemberType,
    OrganizationCreate,
    OrganizationRead,
    OrganizationUpdate,
    RoleRef,
)
from zenpro.users.schemas import UserRead


async def to_read(db: AsyncSession, orgs: Sequence[Organization]) -> list[OrganizationRead]:
    owners = await repo.users_by_id(db, (o.owner_id for o in orgs))
    return [
        OrganizationRead.model_validate(
            {**_columns(o), "owner": UserRead.model_validate(owners[o.owner_id])}
        )
        for o in orgs
    ]


async def one(db: AsyncSession, org: Organization) -> OrganizationRead:
    (read,) = await to_read(db, [org])
    return read


def _columns(org: Organization) -> dict[str, Any]:
    return {
        c: getattr(org, c)
        for c in ("id", "name", "display_name", "description", "logo_url", "created", "updated")
    }


def list_stmt(access: Access, *, name: str | None, owner_id: uuid.UUID | None) -> Select[Any]:
    viewer = None if access.grants.superuser else access.user_id
    return repo.list_stmt(viewer, name=name, owner_id=owner_id)


_NAME_TAKEN = "An organization with that name already exists (names are compared ignoring case)"


async def create(
    db: AsyncSession, access: Access, data: OrganizationCreate, settings: Settings
) -> Organization:
    """The creator owns the organization and holds Organization Admin in it, written in
    the same transaction (so an organization never exists without an admin)."""
    if access.principal.kind == "service_account":
        raise Forbidden("Service accounts cannot create organizations")
    limit = settings.max_owned_organizations
    if limit is not None and await repo.count_owned(db, access.user_id) >= limit:
        raise SubscriptionLimit(
            f"You already own {limit} organization(s), the most allowed on this server"
        )
    # Names are global and public to whoever tries one: saying it is taken leaks nothing
    # but the name itself. The unique index on lower(name) settles races (same answer).
    conflict = _NAME_TAKEN
    if await repo.name_taken(db, data.name):
        raise Conflict(conflict)
    org = Organization(**data.model_dump(), owner_id=access.user_id)
    db.add(org)
    await flush_or_conflict(db, conflict)
    db.add(RoleAssignment.grant(ORG_ADMIN_ID, organization_id=org.id, user_id=access.user_id))
    await flush_or_conflict(db, conflict)
    return org


async def update(db: AsyncSession, org: Organization, data: OrganizationUpdate) -> Organization:
    changes = data.model_dump(exclude_unset=True)
    new_name = changes.get("name")
    conflict = _NAME_TAKEN
    # ``exclude``: renaming ``acme`` to ``Acme`` only changes the case of its own name.
    if new_name and new_name != org.name and await repo.name_taken(db, new_name, org.id):
        raise Conflict(conflict)
    apply_changes(org, changes, required=("name",))
    await flush_or_conflict(db, conflict)
    return org


async def delete(db: AsyncSession, org: Organization, force: bool) -> None:
    """Refuse while workspaces are live, unless forced (the guard already requires
    ``organization:delete``, which only Organization Admins and superusers hold)."""
    if not force and await repo.has_live_workspaces(db, org.id):
        raise Conflict(
            "The organization still has workspaces: delete them first, or pass force=true"
        )
    await repo.delete_org(db, org)


def _refs(roles: list[Role] | None, org_id: uuid.UUID) -> list[RoleRef]:
    return [RoleRef.of(r, org_id) for r in roles or []]


async def members(db: AsyncSession, org: Organization, page: PageParams) -> Slice[MemberRead]:
    """One page of: users and service accounts, then teams, then pending invitations
    (items: :class:`MemberRead`). Only the page's rows (and their roles) are loaded."""
    (users, teams, invitations), page_ = await fetch_sections(
        db, repo.member_sections(org.id), page
    )
    roles = await repo.org_roles_by_subject(
        db,
        org.id,
        users=[u.id for u in users],
        teams=[t.id for t in teams],
        invitations=[i.id for i in invitations],
    )
    out = [MemberRead.of_user(u, _refs(roles.get(("user", u.id)), org.id)) for u in users]
    out += [
        MemberRead(
            type=MemberType.team,
            id=t.id,
            name=t.name,
            roles=_refs(roles.get(("team", t.id)), org.id),
        )
        for t in teams
    ]
    out += [
        MemberRead(
            type=MemberType.invitation,
            id=i.id,
            name=i.email,
            email=i.email,
            expires=i.expires,
            roles=_refs(roles.get(("invitation", i.id)), org.id),
        )
        for i in invitations
    ]
    return replace(page_, items=out)


async def remove_member(db: AsyncSession, org: Organization, user_id: uuid.UUID) -> None:
    if user_id == org.owner_id:
        raise Conflict("The owner cannot be removed from their organization")
    if await repo.remove_member(db, org.id, user_id) == 0:
        raise NotFound(f"User {user_id} is not a member of this organization")
    await db.flush()


async def member_users(db: AsyncSession, org: Organization, limit: int = 100) -> list[User]:
    """The organization's users and service accounts (the first section of
    :func:`members`), by username, at most ``limit``: one statement, for pickers such
    as the console's audit-trail actor filter."""
    stmt, _ = repo.member_sections(org.id)[0]
    return list((await db.scalars(stmt.order_by(User.username, User.id).limit(limit))).all())


async def member_user(db: AsyncSession, org: Organization, user_id: uuid.UUID) -> User | None:
    """The user or service account ``user_id`` if a member of ``org`` (as :func:`members`
    counts them), else None: one statement."""
    stmt, _ = repo.member_sections(org.id)[0]
    return await db.scalar(stmt.where(User.id == user_id))
