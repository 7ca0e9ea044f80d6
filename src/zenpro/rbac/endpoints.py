"""/rbac/* for workspace servers ([wire]) and /permissions for any caller."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Body, Query
from fastapi.responses import JSONResponse

from zenpro import routing
from zenpro.auth.deps import WorkspaceMachine
from zenpro.auth.principal import MachinePrincipal
from zenpro.authz import resources as res
from zenpro.authz.guards import Authenticated
from zenpro.authz.vocabulary import CONTROL_ACTIONS, CONTROL_TYPES, WORKSPACE_ACTIONS
from zenpro.deps import DB
from zenpro.errors import NotFound, error_responses
from zenpro.kit.lookup import Loading
from zenpro.kit.schemas import Empty
from zenpro.models import Workspace
from zenpro.rbac import repository as repo
from zenpro.rbac import service
from zenpro.rbac.schemas import AllowedIds, PermissionAnswer, PermissionResource, ResourceMembers

router = routing.router(tags=["rbac"])
# Resource strings one `DELETE /rbac/resources` may name: as many as always fit the request
# target limit (each `resources=<string>&` is at most 108 bytes once `:` and `/` are
# percent-encoded; tests/kit/test_request_limits.py checks every operation's worst case).
MAX_FORGET = 250


async def _workspace(db: DB, machine: MachinePrincipal) -> Workspace:
    ws = await db.get(Workspace, machine.workspace_id)
    if ws is None:
        raise NotFound("Workspace not found")
    return ws


@router.post(
    "/rbac/check_permissions",
    response_model=dict[str, bool],
    operation_id="rbac_check_permissions",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {
                    "example": ["stack", "stack/8c6f6b2e-0f4e-4c0b-9c3b-0c1f2b3e4d5a"]
                }
            }
        }
    },
)
async def check_permissions(
    db: DB,
    machine: WorkspaceMachine,
    user_id: Annotated[uuid.UUID, Query(description="The user, as authorize_server returned.")],
    action: Annotated[res.Action, Query(max_length=32, description="The action to check.")],
    resources: Annotated[list[res.ResourceString], Body(max_length=service.MAX_RESOURCES)],
) -> JSONResponse:
    """Check permissions (workspace servers)

    Machine token only, about the token's workspace. The body is a JSON array of resource strings
    `[project_id:]type[/id]`; the answer has **every** requested string as a key. A malformed string
    → 422 naming it.
    """
    ws = machine.workspace_id
    answer = await service.check_permissions(Loading(db), ws, user_id, action, resources)
    return JSONResponse(answer)  # a plain dict of bools: no response-model validation needed


@router.get("/rbac/allowed_resource_ids", operation_id="rbac_allowed_resource_ids")
async def allowed_resource_ids(
    db: DB,
    machine: WorkspaceMachine,
    user_id: Annotated[uuid.UUID, Query(description="The user.")],
    resource: Annotated[
        res.TypeOnlyResource, Query(max_length=100, description="A type-only resource string.")
    ],
    action: Annotated[res.Action, Query(max_length=32, description="The action.")],
) -> AllowedIds:
    """Resource ids a user may access (workspace servers)

    `full_access` when a workspace- or project-scope grant covers the type; otherwise the ids shared
    with the user.
    """
    ws = machine.workspace_id
    return await service.allowed_resource_ids(Loading(db), ws, user_id, resource, action)


@router.post("/rbac/resource_members", responses=error_responses(NotFound))
async def rbac_resource_members(db: DB, machine: WorkspaceMachine, body: ResourceMembers) -> Empty:
    """Share a resource (workspace servers)

    Sets the complete set of actions a user or team holds on one resource of this workspace (empty =
    unshare). A share makes the user a member of the workspace.
    """
    await service.set_resource_members(db, await _workspace(db, machine), body)
    return Empty()


@router.delete("/rbac/resources")
async def rbac_delete_resources(
    db: DB,
    machine: WorkspaceMachine,
    resources: Annotated[
        list[res.ResourceString],
        Query(min_length=1, max_length=MAX_FORGET, description="Repeatable."),
    ],
) -> Empty:
    """Forget deleted resources (workspace servers)

    Drops shares of the given resources (and project-scope grants of a deleted project).
    """
    await service.forget_resources(db, machine.workspace_id, resources)
    return Empty()


@router.get("/permissions", responses=error_responses(NotFound))
async def get_my_permissions(
    db: DB,
    access: Authenticated,
    resource: Annotated[
        list[PermissionResource], Query(min_length=1, max_length=100, description="Repeatable.")
    ],
    organization_id: Annotated[
        uuid.UUID | None, Query(description="The organization, for control-plane types.")
    ] = None,
    workspace_id: Annotated[
        uuid.UUID | None, Query(description="The workspace, for its resource strings.")
    ] = None,
    action: Annotated[
        res.Action | None, Query(max_length=32, description="Only this action.")
    ] = None,
) -> list[PermissionAnswer]:
    """My permissions

    With `workspace_id`: every `resource` is a workspace resource string and `action` (if given) a
    workspace action; otherwise `organization_id` is needed (404 without), every `resource` is a
    control-plane type (organization, workspace, team, member, role, service_account, billing) and
    `action` one of create, read, update, delete (422 otherwise: the schema admits both kinds, the
    parameters choose one). With `action`: one answer per resource; without: the allowed actions per
    resource.
    """
    grants = access.grants
    if workspace_id is not None:
        ws = await db.get(Workspace, workspace_id)
        if ws is None or not (
            grants.in_workspace(ws.id) or grants.org_allows(ws.organization_id, "workspace", "read")
        ):
            raise NotFound(f"Workspace {workspace_id} not found")
        parsed = [res.parse(r) for r in resource]
        actions = [res.check_action(action)] if action else list(WORKSPACE_ACTIONS)
        ids = [p.id for p in parsed if p.id is not None]
        found = await repo.shared(db, ws.id, access.user_id, resource_ids=ids) if ids else []
        shares = frozenset((s.resource_type, s.resource_id, s.action) for s in found)

        def ask(i: int, a: str) -> bool:
            return grants.resource_allowed(ws.id, parsed[i], a, shares)
    else:
        if organization_id is None or not grants.in_org(organization_id):
            raise NotFound("Organization not found: give organization_id or workspace_id")
        for r in resource:
            if r not in CONTROL_TYPES:
                raise res.BadResource(f"unknown control-plane type {r!r}")
        if action is not None and action not in CONTROL_ACTIONS:
            raise res.BadResource(f"unknown action {action!r}")
        actions = [action] if action else list(CONTROL_ACTIONS)
        org = organization_id

        def ask(i: int, a: str) -> bool:
            return grants.org_allows(org, resource[i], a)

    if action:
        return [
            PermissionAnswer(resource=r, action=action, allowed=ask(i, action))
            for i, r in enumerate(resource)
        ]
    return [
        PermissionAnswer(resource=r, actions=[a for a in actions if ask(i, a)])
        for i, r in enumerate(resource)
    ]
