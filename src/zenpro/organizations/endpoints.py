"""/organizations: the organization itself and its members (spec §5)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from zenpro.authz.guards import Authenticated
from zenpro.deps import DB, AppSettings
from zenpro.errors import (
    Conflict,
    Forbidden,
    NotAuthenticated,
    NotFound,
    SubscriptionLimit,
    error_responses,
)
from zenpro.kit.pagination import Page, fetch_page, set_page_headers
from zenpro.kit.params import OrganizationRef
from zenpro.kit.schemas import TEXT_PATTERN, Empty
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

router = APIRouter(prefix="/organizations", tags=["organizations"])
AUTH_ERRORS = (NotAuthenticated, Forbidden)


@router.get(
    "",
    response_model=list[OrganizationRead],
    summary="List organizations",
    description="The organizations the caller belongs to (superusers: all). Bare JSON "
    "array; `X-Total-Count` and `Link` headers.",
    operation_id="list_organizations",
    responses=error_responses(*AUTH_ERRORS),
)
async def list_organizations(
    request: Request,
    response: Response,
    db: DB,
    access: Authenticated,
    page: Page,
    name: Annotated[
        str | None,
        Query(
            max_length=50,
            pattern=TEXT_PATTERN,
            description="Name, compared ignoring case (not trimmed).",
        ),
    ] = None,
    owner_id: Annotated[uuid.UUID | None, Query(description="Owner's user id.")] = None,
) -> list[OrganizationRead]:
    stmt = service.list_stmt(access, name=name, owner_id=owner_id)
    items, total = await fetch_page(db, stmt, page, Organization.created, Organization.id)
    set_page_headers(request, response, page, total)
    return await service.to_read(db, items)


@router.post(
    "",
    response_model=OrganizationRead,
    status_code=201,
    summary="Create an organization",
    description="The caller becomes its owner and Organization Admin. Service accounts "
    "cannot create organizations; `ZENPRO_MAX_OWNED_ORGANIZATIONS` caps how many one user "
    "owns (402).",
    operation_id="create_organization",
    responses=error_responses(*AUTH_ERRORS, SubscriptionLimit, Conflict),
)
async def create_organization(
    db: DB, access: Authenticated, settings: AppSettings, body: OrganizationCreate
) -> OrganizationRead:
    org = await service.create(db, access, body, settings)
    return await service.one(db, org)


@router.get(
    "/{organization_id}",
    response_model=OrganizationRead,
    summary="Get an organization by id or name",
    description="`organization_id` is the organization's id or its name, compared ignoring case "
    "(URL-encode spaces: `/organizations/Data%20Science`). A name that looks like a UUID is "
    "found by name when no organization has that id.",
    operation_id="get_organization",
    responses=error_responses(*AUTH_ERRORS, NotFound),
)
async def get_organization(
    db: DB, scoped: OrgByIdOrName, organization_id: OrganizationRef
) -> OrganizationRead:
    # organization_id (an id or a name) is read by the guard; declared so the OpenAPI lists it.
    return await service.one(db, scoped.obj)


@router.patch(
    "/{organization_id}",
    response_model=OrganizationRead,
    summary="Update an organization",
    operation_id="update_organization",
    responses=error_responses(*AUTH_ERRORS, NotFound, Conflict),
)
async def update_organization(
    db: DB, scoped: OrgUpdate, organization_id: uuid.UUID, body: OrganizationUpdate
) -> OrganizationRead:
    org = await service.update(db, scoped.obj, body)
    return await service.one(db, org)


@router.delete(
    "/{organization_id}",
    response_model=Empty,
    summary="Delete an organization",
    description="409 while it has workspaces that are not deleted, unless `force=true`. "
    "Everything it holds is deleted with it.",
    operation_id="delete_organization",
    responses=error_responses(*AUTH_ERRORS, NotFound, Conflict),
)
async def delete_organization(
    db: DB,
    scoped: OrgDelete,
    organization_id: uuid.UUID,
    force: Annotated[bool, Query(description="Delete even with live workspaces.")] = False,
) -> Empty:
    await service.delete(db, scoped.obj, force)
    return Empty()


@router.get(
    "/{organization_id}/members",
    response_model=list[MemberOut],
    summary="List organization members",
    description="Users and service accounts, teams, and pending invitations (in that "
    "order), each with the organization-level roles it holds. `type` tells them apart. "
    "Bare JSON array; `X-Total-Count` and `Link` headers.",
    operation_id="list_organization_members",
    responses=error_responses(*AUTH_ERRORS, NotFound),
)
async def list_members(
    request: Request,
    response: Response,
    db: DB,
    scoped: MemberRead,
    organization_id: uuid.UUID,
    page: Page,
) -> list[MemberOut]:
    members, total = await service.members(db, scoped.obj, page)
    set_page_headers(request, response, page, total)
    return members


@router.delete(
    "/{organization_id}/members",
    response_model=Empty,
    summary="Remove a user from an organization",
    description="Removes every role assignment of the user in the organization (organization, "
    "workspace and project scope), their memberships in its teams and their shares in its "
    "workspaces. The owner cannot be removed.",
    operation_id="remove_organization_member",
    responses=error_responses(*AUTH_ERRORS, NotFound, Conflict),
)
async def remove_member(
    db: DB,
    scoped: MemberDelete,
    organization_id: uuid.UUID,
    user_id: Annotated[uuid.UUID, Query(description="The user to remove.")],
) -> Empty:
    await service.remove_member(db, scoped.obj, user_id)
    return Empty()
