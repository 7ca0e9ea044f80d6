"""The workspace-server RBAC protocol (spec §5, [wire]), answered by the one checker."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.authz import granting
from zenpro.authz import resources as res
from zenpro.authz.checker import Grants, load_user_grants, user_grants
from zenpro.errors import BadRequest, Forbidden, NotFound
from zenpro.kit.cache import GRANTS
from zenpro.kit.lookup import Loading, Lookup
from zenpro.models import Share, Team, Workspace, epochs
from zenpro.rbac import repository as repo
from zenpro.rbac.schemas import AllowedIds, ResourceMembers

MAX_RESOURCES = 1000
"""Resource strings one RBAC request may name: the routes' bound, and the fast lane's."""

ShareSet = frozenset[tuple[str, uuid.UUID, str, uuid.UUID | None]]


async def shares_of_user(look: Lookup, workspace_id: uuid.UUID, user_id: uuid.UUID) -> ShareSet:
    """Every (type, id, action, project) shared with the user in one workspace; cached.
    The one place their cache key is spelled, for the routes and the fast lane alike."""

    async def load(db: AsyncSession) -> ShareSet:
        found = await repo.shared(db, workspace_id, user_id)
        return frozenset((s.resource_type, s.resource_id, s.action, s.project_id) for s in found)

    tags = frozenset({epochs.workspace_scope(workspace_id), epochs.user_scope(user_id)})
    return await look.get(GRANTS, ("shares", workspace_id, user_id), load, lambda _: tags)


def _parse_all(resources: list[str], action: str) -> list[res.Resource]:
    res.check_action(action)
    return [res.parse(r) for r in resources]


def _needs_shares(parsed: list[res.Resource], grants: Grants) -> bool:
    return any(r.id is not None for r in parsed) and not grants.superuser


def _answer_check(
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
    look: Lookup,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID,
    action: str,
    resources: list[str],
) -> dict[str, bool]:
    """``POST /rbac/check_permissions``, for the route and the fast lane: the user's
    grants, and their shares in the workspace only when a resource names an id."""
    parsed = _parse_all(resources, action)
    grants = await user_grants(look, user_id)
    shared: ShareSet = frozenset()
    if _needs_shares(parsed, grants):
        shared = await shares_of_user(look, workspace_id, user_id)
    return _answer_check(grants, shared, workspace_id, resources, parsed, action)


def _answer_allowed_ids(
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
    look: Lookup, workspace_id: uuid.UUID, user_id: uuid.UUID, resource: str, action: str
) -> AllowedIds:
    """``GET /rbac/allowed_resource_ids``, for the route and the fast lane: the shares
    are needed only when no grant covers the whole type."""
    res.check_action(action)
    target = res.parse(resource, allow_id=False)
    grants = await user_grants(look, user_id)
    shared: ShareSet = frozenset()
    if not grants.covers(workspace_id, target, action):
        shared = await shares_of_user(look, workspace_id, user_id)
    return _answer_allowed_ids(grants, shared, workspace_id, target, action)


async def set_resource_members(
    db: AsyncSession, workspace: Workspace, body: ResourceMembers
) -> None:
    """Replace what one user or team holds on one resource. The member must belong to
    the workspace's organization (membership by consent), and the sharing user must be
    allowed every action shared (``authz.granting``: nobody gives what they do not hold).
    """
    target = res.parse(body.resource)
    if target.id is None:
        raise res.BadResource(f"resource {body.resource!r}: sharing needs a resource id")
    actions = {res.check_action(a) for a in body.actions}
    org_id = workspace.organization_id
    if body.user_id is not None:
        if await repo.get_user(db, body.user_id) is None:
            raise NotFound(f"User {body.user_id} not found")
        if not (await load_user_grants(db, body.user_id)).in_org(org_id):
            raise BadRequest(
                "This user does not belong to the workspace's organization: invite them first"
            )
    if body.team_id is not None:
        team = await db.get(Team, body.team_id)
        if team is None or team.organization_id != org_id:
            raise NotFound(f"Team {body.team_id} not found")
    if actions:
        await _require_sharer(db, workspace, body.sharing_user_id, target, actions)
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


async def _require_sharer(
    db: AsyncSession,
    workspace: Workspace,
    sharer_id: uuid.UUID | None,
    target: res.Resource,
    actions: set[str],
) -> None:
    if sharer_id is None:
        raise BadRequest("sharing_user_id is required: the sharing user must hold what is shared")
    grants = await load_user_grants(db, sharer_id)
    shared = await shares_of_user(Loading(db), workspace.id, sharer_id)
    own = frozenset((t, i, a) for t, i, a, _ in shared)
    granting.require_share(grants, own, workspace.id, target, actions)


async def require_may_confer_shares(
    db: AsyncSession, actor_id: uuid.UUID, actor: Grants, shares: list[Share], what: str
) -> None:
    """Handing someone these shares (by a team membership, or a key for a service account)
    needs the actor to be allowed each shared action on each resource."""
    for share in shares:
        own = await shares_of_user(Loading(db), share.workspace_id, actor_id)
        try:
            granting.require_share(
                actor,
                frozenset((t, i, a) for t, i, a, _ in own),
                share.workspace_id,
                res.Resource(share.resource_type, share.resource_id, share.project_id),
                [share.action],
            )
        except Forbidden as exc:
            raise Forbidden(f"You cannot grant {what}: it holds a share you do not") from exc


async def forget_resources(db: AsyncSession, workspace_id: uuid.UUID, resources: list[str]) -> None:
    parsed = [res.parse(r) for r in resources]
    for r in parsed:
        if r.id is not None:
            await repo.forget(db, workspace_id, r.type, r.id)
