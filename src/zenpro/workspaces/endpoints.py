"""/workspaces and the deprecated, identical /tenants (spec §5). The list and get shapes
are [wire]: the ZenML CLI calls them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Query

from zenpro import routing
from zenpro.authz.guards import Authenticated
from zenpro.deps import DB, AppSettings
from zenpro.errors import Conflict, NotFound, error_responses
from zenpro.kit.pagination import Paged, Paging, fetch_page
from zenpro.kit.params import name_query, text_query
from zenpro.kit.schemas import Empty
from zenpro.models import Workspace
from zenpro.organizations.deps import OrgRead
from zenpro.organizations.schemas import MemberRead
from zenpro.workspaces import repository as repo
from zenpro.workspaces import service
from zenpro.workspaces.deps import WsByIdOrName, WsDelete, WsRead, WsUpdate
from zenpro.workspaces.schemas import (
    Status,
    WorkspaceCreate,
    WorkspaceRead,
    WorkspaceUpdate,
    WorkspaceWithKey,
)

router = routing.router(tags=["workspaces"])
LIST_DESCRIPTION = (
    "Workspaces visible to the caller: those they are a member of, plus every workspace of "
    "an organization where their role reads workspaces. `member_only=True` keeps only the "
    "first kind. Deleted workspaces are listed only with `status=deleted`. Bare JSON array; "
    "`X-Total-Count` and `Link` headers."
)


async def _list(
    db: DB,
    access: Authenticated,
    paging: Paging,
    filters: repo.Filters,
    member_only: bool,
) -> list[WorkspaceRead]:
    stmt = service.with_org_and_owner(service.list_stmt(access, filters, member_only))
    page = await fetch_page(db, stmt, paging.params, Workspace.created, Workspace.id, rows=True)
    paging.headers(page)
    return service.reads(page.items)


async def list_workspaces(
    db: DB,
    access: Authenticated,
    paging: Paged,
    workspace_id: Annotated[uuid.UUID | None, Query(description="Workspace id.")] = None,
    tenant_id: Annotated[uuid.UUID | None, Query(description="Alias of workspace_id.")] = None,
    workspace_name: Annotated[str | None, name_query("Name.")] = None,
    tenant_name: Annotated[str | None, name_query("Alias.")] = None,
    url: Annotated[str | None, text_query("Server URL; a trailing / is ignored.", 1024)] = None,
    organization_id: Annotated[uuid.UUID | None, Query(description="Organization.")] = None,
    status: Annotated[Status | None, Query(description="Status (deleted: only then).")] = None,
    is_managed: Annotated[bool | None, Query(description="Managed or enrolled.")] = None,
    owner_id: Annotated[uuid.UUID | None, Query(description="Creator's user id.")] = None,
    member_only: Annotated[bool, Query(description="Only workspaces I am a member of.")] = False,
) -> list[WorkspaceRead]:
    filters = repo.Filters(
        workspace_id=workspace_id or tenant_id,
        workspace_name=workspace_name or tenant_name,
        url=url,
        organization_id=organization_id,
        status=status.value if status else None,
        is_managed=is_managed,
        owner_id=owner_id,
    )
    return await _list(db, access, paging, filters, member_only)


async def list_org_workspaces(
    db: DB,
    scoped: OrgRead,
    paging: Paged,
    status: Annotated[Status | None, Query(description="Status (deleted: only then).")] = None,
    member_only: Annotated[bool, Query(description="Only workspaces I am a member of.")] = False,
) -> list[WorkspaceRead]:
    filters = repo.Filters(organization_id=scoped.obj.id, status=status.value if status else None)
    return await _list(db, scoped.access, paging, filters, member_only)


async def create_workspace(
    db: DB,
    access: Authenticated,
    settings: AppSettings,
    body: WorkspaceCreate,
    enroll: Annotated[
        bool, Query(description="Externally run: returns a one-time enrollment_key.")
    ] = False,
) -> WorkspaceWithKey:
    ws, key = await service.create(db, access, body, enroll, settings)
    return await service.with_key(db, ws, key)


async def get_workspace(db: DB, scoped: WsByIdOrName) -> WorkspaceRead:
    return await service.one(db, scoped.obj)


async def update_workspace(
    db: DB, settings: AppSettings, scoped: WsUpdate, body: WorkspaceUpdate
) -> WorkspaceRead:
    ws = await service.update(db, scoped.obj, body, settings)
    return await service.one(db, ws)


async def delete_workspace(db: DB, scoped: WsDelete) -> Empty:
    await service.delete(db, scoped.obj)
    return Empty()


async def list_workspace_members(
    db: DB,
    scoped: WsRead,
    paging: Paged,
) -> list[MemberRead]:
    page = await service.members(db, scoped.obj, paging.params)
    paging.headers(page)
    return page.items


async def rotate_enrollment_key(db: DB, scoped: WsUpdate) -> WorkspaceWithKey:
    key = await service.rotate_key(db, scoped.obj)
    return await service.with_key(db, scoped.obj, key)


def _add(
    path: str,
    method: str,
    endpoint: Callable[..., Any],
    op: str,
    summary: str,
    errors: tuple[type[Any], ...],
    **kwargs: Any,
) -> None:
    """Register at /workspaces… and (deprecated) at /tenants…, same handler."""
    for prefix, suffix, deprecated in (
        ("workspaces", "workspace", False),
        ("tenants", "tenant", True),
    ):
        router.add_api_route(
            path.format(ws=prefix),
            endpoint,
            methods=[method],
            operation_id=op.format(ws=suffix),
            summary=summary + (" (deprecated alias)" if deprecated else ""),
            deprecated=deprecated or None,
            responses=error_responses(*errors),
            **kwargs,
        )


_add(
    "/{ws}",
    "GET",
    list_workspaces,
    "list_{ws}s",
    "List workspaces",
    (),
    response_model=list[WorkspaceRead],
    description=LIST_DESCRIPTION + " `tenant_id`/`tenant_name` are aliases.",
)
_add(
    "/{ws}",
    "POST",
    create_workspace,
    "create_{ws}",
    "Create a workspace",
    (NotFound, Conflict),
    response_model=WorkspaceWithKey,
    status_code=201,
    description="Starts `pending`; the reconciler makes it available. With `enroll=true` "
    "the workspace runs elsewhere (`is_managed=false`) and the response carries its "
    "`enrollment_key`, shown only this once (always so when the server's provisioner is "
    "`external`). With the `local` provisioner a managed workspace is a ZenML server on "
    "zenpro's host: beyond `ZENPRO_LOCAL_MAX_SERVERS` active ones the answer is 409 with "
    "`code: local_server_limit`.",
)
_add(
    "/{ws}/{{workspace_id}}",
    "GET",
    get_workspace,
    "get_{ws}",
    "Get a workspace by id or name",
    (NotFound,),
    response_model=WorkspaceRead,
)
_add(
    "/{ws}/{{workspace_id}}",
    "PATCH",
    update_workspace,
    "update_{ws}",
    "Update a workspace",
    (NotFound, Conflict),
    response_model=WorkspaceRead,
    description="`desired_state`: `deactivated`, `available` (reactivate or retry a "
    "failed one) or `deleted`. A deleted workspace cannot be changed (409). Reactivating a "
    "managed workspace beyond the local provisioner's `ZENPRO_LOCAL_MAX_SERVERS` is refused "
    "with 409, `code: local_server_limit`.",
)
_add(
    "/{ws}/{{workspace_id}}",
    "DELETE",
    delete_workspace,
    "delete_{ws}",
    "Delete a workspace",
    (NotFound, Conflict),
    response_model=Empty,
    description="Status becomes `deleted` at once; the record is kept and its name freed.",
)
_add(
    "/{ws}/{{workspace_id}}/members",
    "GET",
    list_workspace_members,
    "list_{ws}_members",
    "List workspace members",
    (NotFound,),
    response_model=list[MemberRead],
    description="Users with a workspace role (directly or through a team), or a share.",
)
_add(
    "/{ws}/{{workspace_id}}/enrollment_key",
    "POST",
    rotate_enrollment_key,
    "rotate_{ws}_enrollment_key",
    "Rotate a workspace's enrollment key",
    (NotFound, Conflict),
    response_model=WorkspaceWithKey,
    description="The old key stops working at once; the new one is shown only here.",
)
_add(
    "/organizations/{{organization_id}}/{ws}",
    "GET",
    list_org_workspaces,
    "list_organization_{ws}s",
    "List an organization's workspaces",
    (NotFound,),
    response_model=list[WorkspaceRead],
    description=LIST_DESCRIPTION,
)
