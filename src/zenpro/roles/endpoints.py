"""/roles and role assignments (spec §5, §6)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query

from zenpro import routing
from zenpro.authz.granting import Scope
from zenpro.authz.guards import Authenticated
from zenpro.authz.vocabulary import Level
from zenpro.deps import DB
from zenpro.errors import Conflict, NotFound, error_responses, invalid_query
from zenpro.kit.pagination import Paged
from zenpro.kit.params import NameQuery
from zenpro.kit.schemas import Empty
from zenpro.models import Role, RoleAssignment
from zenpro.roles import service
from zenpro.roles.repository import assignments_stmt
from zenpro.roles.schemas import AssignmentRead, RoleCreate, RoleRead, RoleUpdate

router = routing.router(tags=["roles"])

UserQ = Annotated[uuid.UUID | None, Query(description="Assign to this user.")]
TeamQ = Annotated[uuid.UUID | None, Query(description="Assign to this team.")]
InvitationQ = Annotated[uuid.UUID | None, Query(description="Attach to this invitation.")]
WorkspaceQ = Annotated[
    uuid.UUID | None, Query(description="Workspace scope (workspace/project roles).")
]
ProjectQ = Annotated[uuid.UUID | None, Query(description="Project scope (project roles).")]
OrgQ = Annotated[
    uuid.UUID | None,
    Query(
        description="Organization scope. Not needed when the role id is the organization's "
        "own (from `GET /organizations/{id}/roles`), for custom roles, with `workspace_id`, "
        "or for a team, invitation or service account (each belongs to one organization); "
        "when given it must agree with them."
    ),
]


def _subject(
    user_id: uuid.UUID | None, team_id: uuid.UUID | None, invitation_id: uuid.UUID | None
) -> service.Subject:
    given = [v for v in (user_id, team_id, invitation_id) if v is not None]
    if len(given) != 1:
        raise invalid_query("user_id", "give exactly one of user_id, team_id, invitation_id")
    return service.Subject(user_id, team_id, invitation_id)


@router.post(
    "/roles",
    status_code=201,
    responses=error_responses(NotFound, Conflict),
)
async def create_role(db: DB, access: Authenticated, body: RoleCreate) -> RoleRead:
    """Create a custom role

    An organization-scoped role at one level with explicit permission pairs. Types and actions must
    be valid for the level (422 names the bad value).
    """
    role = await service.create_role(db, access, body)
    return await service.one(db, role)


@router.get(
    "/roles/{role_id}",
    summary="Get a role",
    responses=error_responses(NotFound),
)
async def get_role(db: DB, access: Authenticated, role_id: uuid.UUID) -> RoleRead:
    named = await service.named_role(db, access, role_id)
    return await service.one(db, named.role, named.organization_id)


@router.patch("/roles/{role_id}", responses=error_responses(NotFound, Conflict))
async def update_role(
    db: DB, access: Authenticated, role_id: uuid.UUID, body: RoleUpdate
) -> RoleRead:
    """Update a custom role

    System roles are read-only (403). New permissions take effect on the next check.
    """
    role = await service.update_role(db, access, role_id, body)
    return await service.one(db, role)


@router.delete("/roles/{role_id}", responses=error_responses(NotFound, Conflict))
async def delete_role(
    db: DB,
    access: Authenticated,
    role_id: uuid.UUID,
    force: Annotated[bool, Query(description="Delete even when assigned.")] = False,
) -> Empty:
    """Delete a custom role

    409 while assigned, unless `force=true` (which removes its assignments).
    """
    await service.delete_role(db, access, role_id, force)
    return Empty()


@router.get("/organizations/{organization_id}/roles", responses=error_responses(NotFound))
async def list_organization_roles(
    db: DB,
    access: Authenticated,
    organization_id: uuid.UUID,
    paging: Paged,
    level: Annotated[Level | None, Query(description="Only this level.")] = None,
    name: NameQuery = None,
) -> list[RoleRead]:
    """List roles usable in an organization

    System roles, as this organization's own instances (an `id` of their own and `organization_id`
    set: that id alone names the role *and* the organization in `POST /roles/{id}/assignments`),
    plus the organization's custom roles.
    """
    stmt = service.org_roles(access, organization_id, level, name)
    roles = await paging.fetch(db, stmt, Role.created, Role.id)
    return await service.read_roles(db, roles, organization_id)


@router.get("/roles/{role_id}/assignments", responses=error_responses(NotFound))
async def list_role_assignments(
    db: DB,
    access: Authenticated,
    role_id: uuid.UUID,
    paging: Paged,
    organization_id: OrgQ = None,
    workspace_id: WorkspaceQ = None,
    project_id: ProjectQ = None,
    user_id: UserQ = None,
    team_id: TeamQ = None,
) -> list[AssignmentRead]:
    """List a role's assignments

    Only assignments in organizations where you may read members.
    """
    named = await service.named_role(db, access, role_id)
    role = named.role
    stmt = assignments_stmt(
        role.id,
        organization_id=named.organization_id or organization_id,
        workspace_id=workspace_id,
        project_id=project_id,
        user_id=user_id,
        team_id=team_id,
    )
    if not access.grants.superuser:
        readable = [
            o for o in access.grants.member_orgs if access.grants.org_allows(o, "member", "read")
        ]
        stmt = stmt.where(RoleAssignment.organization_id.in_(readable))
    items = await paging.fetch(db, stmt, RoleAssignment.created, RoleAssignment.id)
    return await service.read_assignments(db, role, items)


async def _assignment_target(
    db: DB,
    access: Authenticated,
    role_id: uuid.UUID,
    user_id: UserQ = None,
    team_id: TeamQ = None,
    invitation_id: InvitationQ = None,
    organization_id: OrgQ = None,
    workspace_id: WorkspaceQ = None,
    project_id: ProjectQ = None,
) -> tuple[Role, Scope, service.Subject]:
    """The role, scope and subject an assignment request names (shared by grant and revoke)."""
    subject = _subject(user_id, team_id, invitation_id)
    named = await service.named_role(db, access, role_id)
    scope = await service.resolve_scope(
        db, access, named, subject, organization_id, workspace_id, project_id
    )
    return named.role, scope, subject


AssignmentTarget = Annotated[tuple[Role, Scope, service.Subject], Depends(_assignment_target)]


@router.post(
    "/roles/{role_id}/assignments",
    status_code=201,
    responses=error_responses(NotFound, Conflict),
)
async def create_role_assignment(
    db: DB, access: Authenticated, target: AssignmentTarget
) -> AssignmentRead:
    """Assign a role

    Exactly one of `user_id`, `team_id`, `invitation_id` (422 otherwise); `workspace_id` and
    `project_id` as the role's level requires, and an `organization_id` that agrees with the role
    and the workspace (409 otherwise, as on duplicates). You may only grant what you hold yourself.
    """
    role, scope, subject = target
    assignment = await service.assign(db, access, role, scope, subject)
    (read,) = await service.read_assignments(db, role, [assignment])
    return read


@router.delete("/roles/{role_id}/assignments", responses=error_responses(NotFound, Conflict))
async def delete_role_assignment(db: DB, access: Authenticated, target: AssignmentTarget) -> Empty:
    """Revoke a role assignment

    Same parameters as creating it: Exactly one of `user_id`, `team_id`, `invitation_id` (422
    otherwise). Takes effect on the very next check.
    """
    role, scope, subject = target
    await service.unassign(db, access, role, scope, subject)
    return Empty()
