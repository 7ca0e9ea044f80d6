"""/organizations/{id}/audit_events and /audit_events.

Who may read an organization's trail: the roles that read its members (Organization
Admin, Manager and Viewer; `("member", "read")`), because the trail says who did what to
whom. Organization Members and Billing Admins get 403, strangers 404 (the org guard).
The whole trail, including events of deleted organizations and user-level changes, is
for superusers only.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from zenpro.audit import repository as repo
from zenpro.audit.schemas import AuditEventRead
from zenpro.auth.deps import Superuser
from zenpro.deps import DB
from zenpro.errors import Forbidden, NotAuthenticated, NotFound, error_responses
from zenpro.kit.pagination import Page, fetch_page, set_page_headers
from zenpro.kit.params import OrganizationRef
from zenpro.kit.schemas import TEXT_PATTERN, IsoTime
from zenpro.models import AuditEvent
from zenpro.organizations.deps import MemberRead

router = APIRouter(tags=["audit"])


def _filters(
    action: Annotated[
        Literal["create", "update", "delete"] | None, Query(description="Only this action.")
    ] = None,
    resource_type: Annotated[
        str | None,
        Query(
            max_length=64,
            pattern=TEXT_PATTERN,
            description="Only this resource type, e.g. `teams`.",
        ),
    ] = None,
    actor_id: Annotated[uuid.UUID | None, Query(description="Only changes by this actor.")] = None,
    since: Annotated[IsoTime | None, Query(description="From this time (inclusive).")] = None,
    until: Annotated[IsoTime | None, Query(description="Before this time (exclusive).")] = None,
) -> repo.AuditFilter:
    return repo.AuditFilter(action, resource_type, actor_id, since, until)


Filters = Annotated[repo.AuditFilter, Depends(_filters)]
ORDER = (AuditEvent.created.desc(), AuditEvent.id)


@router.get(
    "/organizations/{organization_id}/audit_events",
    response_model=list[AuditEventRead],
    summary="List an organization's audit events",
    description="Newest first. For Organization Admins, Managers and Viewers. "
    "Bare JSON array; `X-Total-Count` and `Link` headers.",
    operation_id="list_organization_audit_events",
    responses=error_responses(NotAuthenticated, Forbidden, NotFound),
)
async def list_org_events(
    request: Request,
    response: Response,
    db: DB,
    scoped: MemberRead,
    organization_id: OrganizationRef,
    page: Page,
    filters: Filters,
) -> list[AuditEventRead]:
    stmt = repo.list_stmt(scoped.obj.id, filters)
    items, total = await fetch_page(db, stmt, page, *ORDER)
    set_page_headers(request, response, page, total)
    return [AuditEventRead.model_validate(e) for e in items]


@router.get(
    "/audit_events",
    response_model=list[AuditEventRead],
    summary="List all audit events",
    description="Newest first; every organization and user-level change. Superusers only.",
    operation_id="list_audit_events",
    responses=error_responses(NotAuthenticated, Forbidden),
)
async def list_all_events(
    request: Request, response: Response, db: DB, _: Superuser, page: Page, filters: Filters
) -> list[AuditEventRead]:
    items, total = await fetch_page(db, repo.list_stmt(None, filters), page, *ORDER)
    set_page_headers(request, response, page, total)
    return [AuditEventRead.model_validate(e) for e in items]
