"""/organizations: the organization itself and its members (spec §5)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query

from zenpro import routing
from zenpro.authz.guards import Authenticated
from zenpro.deps import DB, AppSettings
from zenpro.errors import (
    Conflict,
    SubscriptionLimit,
    error_responses,
)
from zenpro.kit.pagination import Paged
from zenpro.kit.params import NameQuery
from zenpro.kit.schemas import Empty
from zenpro.models import Organization
from zenpro.organizations import service
from zenpro.organizations.deps import MemberDelete, MemberRead, OrgByIdOrName, OrgDelete, OrgUpdate
from zenpro.organizations.schemas import (
    MemberRead as MemberOut,
)
from zenpro.organizations.schemas import (
    OrganizationCreate,
    OrganizationRead,
    OrganizationUpdate,
)

router = routing.router(prefix="/organizations", tags=["organizations"])


@router.get("")
async def list_organizations(
    db: DB,
    access: Authenticated,
    paging: Paged,
    name: NameQuery = None,
    owner_id: Annotated[uuid.UUID | None, Query(description="Owner's user id.")] = None,
) -> list[OrganizationRead]:
    """List organizations

    The organizations the caller belongs to (superusers: all). Bare JSON array; `X-Total-Count` and
    `Link` headers.
    """
    stmt = service.list_stmt(access, name=name, owner_id=owner_id)
    items = await paging.fetch(db, stmt, Organization.created, Organization.id)
    return await service.to_read(db, items)


@router.post(
    "",
    status_code=201,
    responses=error_responses(SubscriptionLimit, Conflict),
)
async def create_organization(
    db: DB, access: Authenticated, settings: AppSettings, body: OrganizationCreate
) -> OrganizationRead:
    """Create an organization

    The caller becomes its owner and Organization Admin. Service accounts cannot create
    organizations; `ZENPRO_MAX_OWNED_ORGANIZATIONS` caps how many one user owns (402).
    """
    org = await service.create(db, access, body, settings)
    return await service.one(db, org)


@router.get("/{organization_id}")
async def get_organization(db: DB, scoped: OrgByIdOrName) -> OrganizationRead:
    """Get an organization by id or name

    `organization_id` is the organization's id or its name, compared ignoring case (URL-encode
    spaces: `/organizations/Data%20Science`). A name that looks like a UUID is found by name when no
    organization has that id.
    """
    return await service.one(db, scoped.obj)


@router.patch(
    "/{organization_id}",
    summary="Update an organization",
    responses=error_responses(Conflict),
)
async def update_organization(
    db: DB, scoped: OrgUpdate, body: OrganizationUpdate
) -> OrganizationRead:
    org = await service.update(db, scoped.obj, body)
    return await service.one(db, org)


@router.delete("/{organization_id}", responses=error_responses(Conflict))
async def delete_organization(
    db: DB,
    scoped: OrgDelete,
    force: Annotated[bool, Query(description="Delete even with live workspaces.")] = False,
) -> Empty:
    """Delete an organization

    409 while it has workspaces that are not deleted, unless `force=true`. Everything it holds is
    deleted with it.
    """
    await service.delete(db, scoped.obj, force)
    return Empty()


@router.get("/{organization_id}/members")
async def list_organization_members(
    db: DB,
    scoped: MemberRead,
    paging: Paged,
) -> list[MemberOut]:
    """List organization members

    Users and service accounts, teams, and pending invitations (in that order), each with the
    organization-level roles it holds. `type` tells them apart. Bare JSON array; `X-Total-Count` and
    `Link` headers.
    """
    page = await service.members(db, scoped.obj, paging.params)
    paging.headers(page)
    return page.items


@router.delete(
    "/{organization_id}/members",
    operation_id="remove_organization_member",
    responses=error_responses(Conflict),
)
async def remove_member(
    db: DB,
    scoped: MemberDelete,
    user_id: Annotated[uuid.UUID, Query(description="The user to remove.")],
) -> Empty:
    """Remove a user from an organization

    Removes every role assignment of the user in the organization (organization, workspace and
    project scope), their memberships in its teams and their shares in its workspaces. The owner
    cannot be removed.
    """
    await service.remove_member(db, scoped.obj, user_id)
    return Empty()
