"""Invitations: /organizations/{id}/invitations and /invitations/{id} (spec §5).

No email is sent: responses carry ``invite_link`` and a pluggable ``Notifier`` is told
(after the transaction commits).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import BackgroundTasks, Depends, Query

from zenpro import routing
from zenpro.authz.guards import Authenticated
from zenpro.deps import DB, AppSettings
from zenpro.errors import BadRequest, Conflict, Gone, NotFound, error_responses
from zenpro.invitations import service
from zenpro.invitations.notifier import Notifier, get_notifier
from zenpro.invitations.schemas import InvitationCreate, InvitationRead
from zenpro.kit.pagination import Paged
from zenpro.kit.params import text_query
from zenpro.kit.schemas import Empty
from zenpro.models import Invitation
from zenpro.organizations.deps import MemberCreate, MemberDelete, MemberRead

router = routing.router(tags=["invitations"])
NotifierDep = Annotated[Notifier, Depends(get_notifier)]


@router.get("/organizations/{organization_id}/invitations")
async def list_invitations(
    db: DB,
    settings: AppSettings,
    scoped: MemberRead,
    paging: Paged,
    email: Annotated[str | None, text_query("Email (any case).", 320)] = None,
    only_pending: Annotated[bool, Query(description="Not accepted and not expired.")] = False,
) -> list[InvitationRead]:
    """List an organization's invitations

    Bare JSON array; `X-Total-Count` and `Link` headers. `id` and `invite_link` are null for callers
    who may not manage invitations (`member:create`); for them the list pages by `offset` only
    (a cursor would carry an invitation's id).
    """
    stmt = service.list_stmt(scoped.obj, email, only_pending)
    manages = scoped.access.grants.org_allows(scoped.obj.id, "member", "create")
    items = await paging.fetch(db, stmt, Invitation.created, Invitation.id, by_offset=not manages)
    return await service.to_read(db, items, settings, reveal=manages)


@router.post(
    "/organizations/{organization_id}/invitations",
    status_code=201,
    responses=error_responses(BadRequest, Conflict),
)
async def create_invitation(
    db: DB,
    settings: AppSettings,
    scoped: MemberCreate,
    body: InvitationCreate,
    notifier: NotifierDep,
    tasks: BackgroundTasks,
) -> InvitationRead:
    """Invite someone to an organization

    The invitation carries one organization-level role (Organization Member when `role_id` is not
    given; a role of another level is a 409) and can be added to teams before it is accepted. It
    expires after `ZENPRO_INVITATION_DAYS`. No email is sent: pass on `invite_link`.
    """
    inv = await service.create(db, scoped.access, scoped.obj, body, settings)
    read = await service.one(db, inv, settings)
    tasks.add_task(notifier.invitation_created, read)  # runs after the commit
    return read


@router.delete(
    "/organizations/{organization_id}/invitations/{invitation_id}",
    summary="Delete an invitation",
)
async def delete_invitation(db: DB, scoped: MemberDelete, invitation_id: uuid.UUID) -> Empty:
    await service.delete(db, scoped.obj, invitation_id)
    return Empty()


@router.get("/invitations/{invitation_id}", responses=error_responses(NotFound))
async def get_invitation(
    db: DB, settings: AppSettings, access: Authenticated, invitation_id: uuid.UUID
) -> InvitationRead:
    """See an invitation addressed to me

    Where `invite_link` points. Only for the invited email (else 404).
    """
    inv = await service.get_mine(db, access, invitation_id)
    return await service.one(db, inv, settings)


@router.post(
    "/invitations/{invitation_id}/accept",
    responses=error_responses(NotFound, Conflict, Gone),
)
async def accept_invitation(
    db: DB, settings: AppSettings, access: Authenticated, invitation_id: uuid.UUID
) -> InvitationRead:
    """Accept an invitation

    By the logged-in user whose email matches (any case; else 404) and is verified (else 403: set by
    an administrator or asserted by single sign-on; an email changed by its user is unverified). The
    invitation's roles and teams become theirs in one transaction. 409 when already accepted, 410
    when expired.
    """
    inv = await service.accept(db, access, invitation_id)
    return await service.one(db, inv, settings)
