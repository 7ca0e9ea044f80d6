"""Invitations: /organizations/{id}/invitations and /invitations/{id} (spec §5).

No email is sent: responses carry ``invite_link`` and a pluggable ``Notifier`` is told
(after the transaction commits).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, Response

from zenpro.authz.guards import Authenticated
from zenpro.deps import DB, AppSettings
from zenpro.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    NotAuthenticated,
    NotFound,
    error_responses,
)
from zenpro.invitations import service
from zenpro.invitations.notifier import Notifier, get_notifier
from zenpro.invitations.schemas import InvitationCreate, InvitationRead
from zenpro.kit.pagination import Page, fetch_page, set_page_headers
from zenpro.kit.params import OrganizationRef
from zenpro.kit.schemas import TEXT_PATTERN, Empty
from zenpro.models import Invitation
from zenpro.organizations.deps import MemberCreate, MemberDelete, MemberRead

router = APIRouter(tags=["invitations"])
AUTH_ERRORS = (NotAuthenticated, Forbidden)
NotifierDep = Annotated[Notifier, Depends(get_notifier)]


@router.get(
    "/organizations/{organization_id}/invitations",
    response_model=list[InvitationRead],
    summary="List an organization's invitations",
    description="Bare JSON array; `X-Total-Count` and `Link` headers. `id` and "
    "`invite_link` are null for callers who may not manage invitations (`member:create`).",
    operation_id="list_invitations",
    responses=error_responses(*AUTH_ERRORS, NotFound),
)
async def list_invitations(
    request: Request,
    response: Response,
    db: DB,
    settings: AppSettings,
    scoped: MemberRead,
    organization_id: OrganizationRef,
    page: Page,
    email: Annotated[
        str | None, Query(max_length=320, pattern=TEXT_PATTERN, description="Email (any case).")
    ] = None,
    only_pending: Annotated[bool, Query(description="Not accepted and not expired.")] = False,
) -> list[InvitationRead]:
    stmt = service.list_stmt(scoped.obj, email, only_pending)
    items, total = await fetch_page(db, stmt, page, Invitation.created, Invitation.id)
    set_page_headers(request, response, page, total)
    manages = scoped.access.grants.org_allows(scoped.obj.id, "member", "create")
    return await service.to_read(db, items, settings, reveal=manages)


@router.post(
    "/organizations/{organization_id}/invitations",
    response_model=InvitationRead,
    status_code=201,
    summary="Invite someone to an organization",
    description="The invitation carries one organization-level role (Organization Member "
    "when `role_id` is not given; a role of another level is a 409) and can be added to "
    "teams before it is accepted. It expires after `ZENPRO_INVITATION_DAYS`. No email is "
    "sent: pass on `invite_link`.",
    operation_id="create_invitation",
    responses=error_responses(BadRequest, *AUTH_ERRORS, NotFound, Conflict),
)
async def create_invitation(
    db: DB,
    settings: AppSettings,
    scoped: MemberCreate,
    organization_id: OrganizationRef,
    body: InvitationCreate,
    notifier: NotifierDep,
    tasks: BackgroundTasks,
) -> InvitationRead:
    inv = await service.create(db, scoped.access, scoped.obj, body, settings)
    read = (await service.to_read(db, [inv], settings))[0]
    tasks.add_task(notifier.invitation_created, read)  # runs after the commit
    return read


@router.delete(
    "/organizations/{organization_id}/invitations/{invitation_id}",
    response_model=Empty,
    summary="Delete an invitation",
    operation_id="delete_invitation",
    responses=error_responses(*AUTH_ERRORS, NotFound),
)
async def delete_invitation(
    db: DB, scoped: MemberDelete, organization_id: OrganizationRef, invitation_id: uuid.UUID
) -> Empty:
    await service.delete(db, scoped.obj, invitation_id)
    return Empty()


@router.get(
    "/invitations/{invitation_id}",
    response_model=InvitationRead,
    summary="See an invitation addressed to me",
    description="Where `invite_link` points. Only for the invited email (else 404).",
    operation_id="get_invitation",
    responses=error_responses(*AUTH_ERRORS, NotFound),
)
async def get_invitation(
    db: DB, settings: AppSettings, access: Authenticated, invitation_id: uuid.UUID
) -> InvitationRead:
    inv = await service.get_mine(db, access, invitation_id)
    return (await service.to_read(db, [inv], settings))[0]


@router.post(
    "/invitations/{invitation_id}/accept",
    response_model=InvitationRead,
    summary="Accept an invitation",
    description="By the logged-in user whose email matches (any case; else 404) and is "
    "verified (else 403: set by an administrator or asserted by single sign-on; an email "
    "changed by its user is unverified). The invitation's roles and teams become theirs in "
    "one transaction. 409 when already accepted, 410 when expired.",
    operation_id="accept_invitation",
    responses=error_responses(*AUTH_ERRORS, NotFound, Conflict, Gone),
)
async def accept_invitation(
    db: DB, settings: AppSettings, access: Authenticated, invitation_id: uuid.UUID
) -> InvitationRead:
    inv = await service.accept(db, access, invitation_id)
    return (await service.to_read(db, [inv], settings))[0]
