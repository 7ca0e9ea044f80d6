"""The workspace-server RBAC protocol (spec §5, [wire]), answered by the one checker."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.auth.principal import Credential, Kind, Principal
from zenpro.authz import resources as res
from zenpro.authz.checker import Grants, load_grants
from zenpro.errors import NotFound
from zenpro.kit.cache import GRANTS, cached
from zenpro.models import Team, Workspace
from zenpro.rbac import repository as repo
from zenpro.rbac.schemas import AllowedIds, ResourceMembers


async def grants_of_user(db: AsyncSession, user_id: uuid.UUID) -> Grants:
    """Grants of the user a workspace asks about; an unknown or inactive user holds nothing.
    Cached (``grants`` epoch): a hit costs no query of its own."""
    return await cached(db, GRANTS, ("user-grants", user_id), lambda: _grants_of_user(db, user_id))


ShareSet = frozenset[tuple[str, uuid.UUID, str, uuid.UUID | None]]


async def shares_of_user(db: AsyncSession, workspace_id: uuid.UUID, user_id: uuid.UUID) -> ShareSet:
    """Every (type, id, action, project) shared with the user in one workspace; cached."""

    async def load() -> ShareSet:
        found = await repo.shared(db, workspace_id, user_id)
        return frozenset((s.resource_type, s.resource_id, s.action, s.project_id) for s in found)

    return await cached(db, GRANTS, ("shares", workspace_id, user_id), load)


async def _grants_of_user(db: AsyncSession, user_id: uuid.UUID) -> Grants:
    user = await repo.get_user(db, user_id)
    if user is None or not user.is_active:
        return Grants()
    principal = Principal(
        kind=Kind.service_account if user.is_service_account else Kind.user,
        credential=Credential.api,
        user_id=user.id,
        organization_id=user.organization_id,
        is_superuser=user.is_superuser,
    )
    return await load_grants(db, principal)


def parse_all(resources: list[str], action: str) -> list[res.Resource]:
    res.check_action(action)
    return [res.parse(r) for r in resources]


def needs_shares(parsed: list[res.Resource], grants: Grants) -> bool:
    return any(r.id is not None for r in parsed) and not grants.superuser


def answer_check(
    grants: Grants,
    shared: ShareSet,
    workspace_id: uuid.UUID,
    resources: list[str],
    parsed: list[res.Resource],
    action: str,
) -> dict[str, bool]:
    """Every requested string is a key of the answer ([wire]: one missing key is a 500)."""
    shares = frozenset((t, i, a) for t, i, a, _ in shared if a == action)
    return {
        raw: grants.resource_allowed(workspace_id, r, action, shares)
        for raw, r in zip(resources, parsed, strict=True)
    }


async def check_permissions(
    db: AsyncSession,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID,
    action: str,
    resources: list[str],
) -> dict[str, bool]:
    parsed = parse_all(resources, action)
    grants = await grants_of_user(db, user_id)
    shared: ShareSet = frozenset()
    if needs_shares(parsed, grants):
        shared = await shares_of_user(db, workspace_id, user_id)
    return answer_check(grants, shared, workspace_id, resources, parsed, action)


def answer_allowed_ids(
    grants: Grants, shared: ShareSet, workspace_id: uuid.UUID, target: res.Resource, action: str
) -> AllowedIds:
    if grants.covers(workspace_id, target, action):
        return AllowedIds(full_access=True, ids=[])
    ids = {
        rid
        for rtype, rid, act, project in shared
        if rtype == target.type and act == action and target.project_id in (None, project)
    }
    if target.type == "project" and action == "read":
        # A project-scope assignment lets its holder read that project (see the checker).
        ids |= grants.view(workspace_id, action).projects
    return AllowedIds(full_access=False, ids=sorted(ids, key=str))


async def allowed_resource_ids(
    db: AsyncSession, workspace_id: uuid.UUID, user_id: uuid.UUID, resource: str, action: str
) -> AllowedIds:
    res.check_action(action)
    target = res.parse(resource, allow_id=False)
    grants = await grants_of_user(db, user_id)
    shared: ShareSet = frozenset()
    if not grants.covers(workspace_id, target, action):
        shared = await shares_of_user(db, workspace_id, user_id)
    return answer_allowed_ids(grants, shared, workspace_id, target, action)


async def set_resource_members(
    db: AsyncSession, workspace: Workspace, body: ResourceMembers
) -> None:
    target = res.parse(body.resource)
    if target.id is None:
        raise res.BadResource(f"resource {body.resource!r}: sharing needs a resource id")
    actions = {res.check_action(a) for a in body.actions}
    if body.user_id is not None and await repo.get_user(db, body.user_id) is None:
        raise NotFound(f"User {body.user_id} not found")
    if body.team_id is not None:
        team = await db.get(Team, body.team_id)
        if team is None or team.organization_id != workspace.organization_id:
            raise NotFound(f"Team {body.team_id} not found")
    await repo.replace_share(
        db,
        workspace_id=workspace.id,
        user_id=body.user_id,
        team_id=body.team_id,
        resource_type=target.type,
        resource_id=target.id,
        project_id=target.project_id,
        actions=actions,
        shared_by=body.sharing_user_id,
    )


async def forget_resources(db: AsyncSession, workspace_id: uuid.UUID, resources: list[str]) -> None:
    parsed = [res.parse(r) for r in resources]
    for r in parsed:
        if r.id is not None:
            await repo.forget(db, workspace_id, r.type, r.id)
