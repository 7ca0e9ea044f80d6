"""Roles and role assignments: custom roles, who may assign what, no escalation."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.authz import granting
from zenpro.authz.access import Access, require_org
from zenpro.authz.checker import load_user_grants
from zenpro.authz.granting import Scope
from zenpro.authz.vocabulary import ORG_ADMIN_ID, WORKSPACE_ADMIN_ID, Level
from zenpro.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    flush_or_conflict,
)
from zenpro.kit.db import utcnow
from zenpro.models import Organization, Role, RoleAssignment
from zenpro.models.role_alias import alias_id
from zenpro.roles import repository as repo
from zenpro.roles.schemas import (
    AssignmentRead,
    PermissionSet,
    RoleCreate,
    RoleRead,
    RoleUpdate,
    TeamBrief,
    misfit,
)
from zenpro.users.schemas import UserRead


def _pairs(permissions: Sequence[PermissionSet]) -> set[tuple[str, str]]:
    return {(p.resource_type, a) for p in permissions for a in p.actions}


async def one(db: AsyncSession, role: Role, org_context: uuid.UUID | None = None) -> RoleRead:
    (read,) = await read_roles(db, [role], org_context)
    return read


async def read_roles(
    db: AsyncSession, roles: list[Role], org_context: uuid.UUID | None = None
) -> list[RoleRead]:
    """Roles as the API shows them. With ``org_context``, system roles appear as that
    organization's own instances (``models.role_alias``), as the real API lists them."""
    pairs = await repo.pairs_of(db, [r.id for r in roles])
    out = []
    for role in roles:
        by_type: dict[str, list[str]] = defaultdict(list)
        for rtype, action in sorted(pairs.get(role.id, set())):
            by_type[rtype].append(action)
        perms = [PermissionSet(resource_type=t, actions=a) for t, a in by_type.items()]
        columns = {**_columns(role), **_instance(role, org_context), "permissions": perms}
        out.append(RoleRead.model_validate(columns))
    return out


def _instance(role: Role, org_id: uuid.UUID | None) -> dict[str, Any]:
    if org_id is None or role.organization_id is not None:
        return {}
    return {"id": alias_id(org_id, role.id), "organization_id": org_id}


def presented_id(role: Role, org_id: uuid.UUID | None) -> uuid.UUID:
    """The id a role has in an organization's context (its alias, for a system role)."""
    return alias_id(org_id, role.id) if org_id and role.organization_id is None else role.id


def _columns(obj: Any) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns}


@dataclass(frozen=True)
class Named:
    """A role as a request named it: by its own id, or by an organization's alias of a
    system role (then ``organization_id`` is that organization)."""

    role: Role
    organization_id: uuid.UUID | None = None


async def named_role(db: AsyncSession, access: Access, role_id: uuid.UUID) -> Named:
    role = await repo.get_role(db, role_id)
    if role is not None:
        named = Named(role)
    elif (found := await repo.aliased(db, role_id)) is not None:
        named = Named(*found)
    else:
        raise NotFound(f"Role {role_id} not found")
    org = named.role.organization_id or named.organization_id
    if org is not None and not access.grants.in_org(org):
        raise NotFound(f"Role {role_id} not found")
    return named


async def usable_in(db: AsyncSession, role_id: uuid.UUID, org_id: uuid.UUID) -> Role | None:
    """The role ``role_id`` names if it can be used in organization ``org_id``: a system
    role, one of the organization's custom roles, or the organization's alias of a
    system role."""
    role = await repo.get_role(db, role_id)
    if role is not None:
        return role if role.organization_id in (None, org_id) else None
    found = await repo.aliased(db, role_id)
    return found[0] if found is not None and found[1] == org_id else None


async def visible_role(db: AsyncSession, access: Access, role_id: uuid.UUID) -> Role:
    return (await named_role(db, access, role_id)).role


async def create_role(db: AsyncSession, access: Access, data: RoleCreate) -> Role:
    require_org(access.grants, data.organization_id, "role", "create", "roles")
    if await db.get(Organization, data.organization_id) is None:
        raise NotFound(f"Organization {data.organization_id} not found")
    granting.require_definable(
        access.grants, data.organization_id, data.level, _pairs(data.permissions)
    )
    await _require_free_name(db, data.organization_id, data.name)
    role = Role(
        organization_id=data.organization_id,
        name=data.name,
        description=data.description,
        level=data.level.value,
        system_managed=False,
    )
    db.add(role)
    await flush_or_conflict(db, f"A role named {data.name!r} already exists here")
    await repo.replace_permissions(db, role.id, _pairs(data.permissions))
    return role


async def _require_free_name(
    db: AsyncSession, org_id: uuid.UUID | None, name: str, role_id: uuid.UUID | None = None
) -> None:
    """409 when the name is a system role's or another custom role's of the organization,
    ignoring case (a custom ``organization admin`` beside the system role would make "the
    role named X" ambiguous to clients that look roles up by name)."""
    if await repo.name_taken(db, org_id, name, role_id):
        raise Conflict(
            f"A role named {name!r} already exists in this organization or among the system "
            "roles (names are compared ignoring case)"
        )


def _editable(access: Access, role: Role, action: str) -> uuid.UUID:
    if role.system_managed or role.organization_id is None:
        raise Forbidden("System roles are read-only")
    require_org(access.grants, role.organization_id, "role", action, "roles")
    return role.organization_id


async def update_role(
    db: AsyncSession, access: Access, role_id: uuid.UUID, data: RoleUpdate
) -> Role:
    role = await visible_role(db, access, role_id)
    _editable(access, role, "update")
    changes = data.model_dump(exclude_unset=True)
    if changes.get("name") is not None:
        await _require_free_name(db, role.organization_id, changes["name"], role.id)
        role.name = changes["name"]
    if "description" in changes:
        role.description = changes["description"]
    if data.permissions is not None:
        # The body's schema admits the pairs of any one level; which level is the role's.
        problem = misfit(Level(role.level), data.permissions)
        if problem:
            raise Conflict(f"This is a {role.level}-level role: {problem}")
        new = _pairs(data.permissions)
        await _authorize_widening(db, access, role, new)
        await repo.replace_permissions(db, role.id, new)
    role.updated = utcnow()  # a permissions-only edit changes no column of roles itself
    await flush_or_conflict(db, f"A role named {role.name!r} already exists here")
    return role


async def _authorize_widening(
    db: AsyncSession, access: Access, role: Role, new: set[tuple[str, str]]
) -> None:
    """An edit hands what it adds to everyone the role is assigned to, at each scope:
    the editor must hold the added pairs there, and be able to define them at all."""
    assert role.organization_id is not None  # _editable refused system roles
    added = new - (await repo.pairs_of(db, [role.id])).get(role.id, set())
    if not added:
        return
    granting.require_definable(access.grants, role.organization_id, Level(role.level), added)
    what = f"the role {role.name!r}"
    for scope in await repo.assignment_scopes(db, role.id):
        granting.require(access.grants, scope, added, what)


async def delete_role(db: AsyncSession, access: Access, role_id: uuid.UUID, force: bool) -> None:
    role = await visible_role(db, access, role_id)
    _editable(access, role, "delete")
    in_use = await repo.count_assignments(db, role.id)
    if in_use and not force:
        raise Conflict(f"Role {role.name!r} is assigned {in_use} time(s); pass force=true")
    await db.delete(role)
    await db.flush()


def org_roles(
    access: Access, org_id: uuid.UUID, level: Level | None, name: str | None
) -> Select[Any]:
    if not access.grants.in_org(org_id):
        raise NotFound(f"Organization {org_id} not found")
    return repo.org_roles_stmt(org_id, level.value if level else None, name)


@dataclass(frozen=True)
class Subject:
    user_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    invitation_id: uuid.UUID | None = None


async def resolve_scope(
    db: AsyncSession,
    access: Access,
    named: Named,
    subject: Subject,
    organization_id: uuid.UUID | None,
    workspace_id: uuid.UUID | None,
    project_id: uuid.UUID | None,
) -> Scope:
    """Work out the organization an assignment lives in, and check the level matches.

    The organization comes from the role (a custom role's, or the one an alias names),
    the workspace, ``organization_id``, or else the subject (an invitation, a team and a
    service account each belong to one organization); they must agree."""
    role = named.role
    level = Level(role.level)
    if level is Level.organization and (workspace_id or project_id):
        raise _level_error("an organization-level role takes no workspace_id or project_id")
    if level is Level.workspace and (workspace_id is None or project_id is not None):
        raise _level_error("a workspace-level role needs workspace_id and no project_id")
    if level is Level.project and (workspace_id is None or project_id is None):
        raise _level_error("a project-level role needs workspace_id and project_id")
    org_id = role.organization_id or named.organization_id
    if organization_id is not None and org_id is not None and organization_id != org_id:
        raise _level_error("organization_id names another organization than the role")
    org_id = org_id or organization_id
    if workspace_id is not None:
        ws = await repo.get_workspace(db, workspace_id)
        if ws is None or not access.grants.in_org(ws.organization_id):
            raise NotFound(f"Workspace {workspace_id} not found")
        if org_id is not None and org_id != ws.organization_id:
            raise _level_error("the workspace belongs to another organization than the role")
        org_id = ws.organization_id
    if org_id is None:
        org_id = await repo.organization_of(
            db, subject.user_id, subject.team_id, subject.invitation_id
        )
    if org_id is None:
        raise _level_error(
            "say which organization: use the organization's own id for this role (from "
            "GET /organizations/{id}/roles), or pass organization_id"
        )
    if not access.grants.in_org(org_id):
        raise NotFound(f"Organization {org_id} not found")
    return Scope(org_id, workspace_id, project_id)


def _level_error(message: str) -> Exception:
    # The scope must fit the role (its level, its organization) and the named objects: a
    # conflict with their state, which no request schema can know, not a malformed request.
    return Conflict(f"The scope does not fit the role: {message}")


def may_manage_assignments(access: Access, role: Role, scope: Scope) -> None:
    """Who may assign or revoke at all: organization member managers (``member:update``);
    for workspace and project roles also a Workspace Admin of that workspace."""
    grants = access.grants
    if grants.superuser or grants.org_allows(scope.organization_id, "member", "update"):
        return
    if Level(role.level) is Level.organization:
        raise Forbidden("You may not manage members of this organization")
    if not grants.holds_role(WORKSPACE_ADMIN_ID, scope.workspace_id):
        raise Forbidden("Only a Workspace Admin or an organization manager may assign this")


async def authorize_assignment(db: AsyncSession, access: Access, role: Role, scope: Scope) -> None:
    """Only member managers may assign, and nobody grants more than they hold
    (``authz.granting``)."""
    may_manage_assignments(access, role, scope)
    pairs = (await repo.pairs_of(db, [role.id])).get(role.id, set())
    granting.require(access.grants, scope, pairs, f"the role {role.name!r}")


async def check_subject(db: AsyncSession, access: Access, scope: Scope, subject: Subject) -> None:
    """The subject exists in the assignment's organization. A user who does not belong
    to it yet is refused (membership by consent: invite them); superusers excepted."""
    if subject.user_id is not None:
        user = await repo.get_user(db, subject.user_id)
        if user is None or (
            user.is_service_account and user.organization_id != scope.organization_id
        ):
            raise NotFound(f"User {subject.user_id} not found")
        await require_member(db, access, user.id, scope.organization_id)
    if subject.team_id is not None:
        team = await repo.get_team(db, subject.team_id)
        if team is None or team.organization_id != scope.organization_id:
            raise NotFound(f"Team {subject.team_id} not found")
    if subject.invitation_id is not None:
        inv = await repo.get_invitation(db, subject.invitation_id)
        if inv is None or inv.organization_id != scope.organization_id or inv.accepted:
            raise NotFound(f"Invitation {subject.invitation_id} not found")


async def require_member(
    db: AsyncSession, access: Access, user_id: uuid.UUID, org_id: uuid.UUID
) -> None:
    """Membership by consent: nobody is made part of an organization without accepting
    an invitation. Superusers may still add anyone (documented in the README)."""
    if access.grants.superuser:
        return
    if not (await load_user_grants(db, user_id)).in_org(org_id):
        raise BadRequest(
            "This user does not belong to the organization: invite them "
            "(POST /organizations/{id}/invitations) and let them accept"
        )


def _grant(role: Role, scope: Scope, subject: Subject) -> RoleAssignment:
    """The assignment of ``role`` to ``subject`` at ``scope`` (not added to the session)."""
    return RoleAssignment.grant(
        role.id,
        organization_id=scope.organization_id,
        user_id=subject.user_id,
        team_id=subject.team_id,
        invitation_id=subject.invitation_id,
        workspace_id=scope.workspace_id,
        project_id=scope.project_id,
    )


def scope_key(role: Role, scope: Scope, subject: Subject) -> str:
    return _grant(role, scope, subject).scope_key


async def assign(
    db: AsyncSession, access: Access, role: Role, scope: Scope, subject: Subject
) -> RoleAssignment:
    await authorize_assignment(db, access, role, scope)
    await check_subject(db, access, scope, subject)
    assignment = _grant(role, scope, subject)
    if await repo.find_assignment(db, assignment.scope_key) is not None:
        raise Conflict("This assignment already exists")
    db.add(assignment)
    await flush_or_conflict(db, "This assignment already exists")
    return assignment


async def unassign(
    db: AsyncSession, access: Access, role: Role, scope: Scope, subject: Subject
) -> None:
    await authorize_assignment(db, access, role, scope)
    assignment = await repo.find_assignment(db, scope_key(role, scope, subject), for_update=True)
    if assignment is None:
        raise NotFound("No such assignment")
    if role.id == ORG_ADMIN_ID and subject.user_id is not None and scope.workspace_id is None:
        org = await db.get(Organization, scope.organization_id)
        if org is not None and org.owner_id == subject.user_id:
            raise Conflict("The organization owner keeps Organization Admin")
    await db.delete(assignment)
    await db.flush()


async def read_assignments(
    db: AsyncSession, role: Role, assignments: list[RoleAssignment]
) -> list[AssignmentRead]:
    (role_read,) = await read_roles(db, [role])
    users, teams = await repo.subjects(db, assignments)
    return [
        AssignmentRead(
            id=a.id,
            role=role_read.model_copy(update=_instance(role, a.organization_id)),
            user=UserRead.model_validate(users[a.user_id]) if a.user_id in users else None,
            team=TeamBrief.model_validate(teams[a.team_id]) if a.team_id in teams else None,
            invitation=a.invitation_id,
            organization_id=a.organization_id,
            workspace_id=a.workspace_id,
            project_id=a.project_id,
            created=a.created,
        )
        for a in assignments
    ]
