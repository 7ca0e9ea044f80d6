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

from fastapi import Depends, Query

from zenpro import routing
from zenpro.audit import repository as repo
from zenpro.audit.schemas import AuditEventRead
from zenpro.auth.deps import Superuser
from zenpro.deps import DB
from zenpro.kit.pagination import Paged
from zenpro.kit.params import text_query
from zenpro.kit.schemas import IsoTime
from zenpro.organizations.deps import MemberRead

router = routing.router(tags=["audit"])


async def _filters(
    action: Annotated[
        Literal["create", "update", "delete"] | None, Query(description="Only this action.")
    ] = None,
    resource_type: Annotated[
        str | None, text_query("Only this resource type, e.g. `teams`.", 64)
    ] = None,
    actor_id: Annotated[uuid.UUID | None, Query(description="Only changes by this actor.")] = None,
    since: Annotated[IsoTime | None, Query(description="From this time (inclusive).")] = None,
    until: Annotated[IsoTime | None, Query(description="Before this time (exclusive).")] = None,
) -> repo.AuditFilter:
    return repo.AuditFilter(action, resource_type, actor_id, since, until)


Filters = Annotated[repo.AuditFilter, Depends(_filters)]


@router.get("/organizations/{organization_id}/audit_events")
async def list_organization_audit_events(
    db: DB,
    scoped: MemberRead,
    paging: Paged,
    filters: Filters,
) -> list[AuditEventRead]:
    """List an organization's audit events

    Newest first. For Organization Admins, Managers and Viewers. Bare JSON array; `X-Total-Count`
    and `Link` headers.
    """
    stmt = repo.list_stmt(scoped.obj.id, filters)
    items = await paging.fetch(db, stmt, *repo.ORDER)
    return [AuditEventRead.model_validate(e) for e in items]


@router.get("/audit_events")
async def list_audit_events(
    db: DB, _: Superuser, paging: Paged, filters: Filters
) -> list[AuditEventRead]:
    """List all audit events

    Newest first; every organization and user-level change. Superusers only.
    """
    items = await paging.fetch(db, repo.list_stmt(None, filters), *repo.ORDER)
    return [AuditEventRead.model_validate(e) for e in items]
