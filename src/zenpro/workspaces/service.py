"""Workspace rules: visibility, creation and enrollment, updates, deletion, members."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.auth.secrets import ENROLLMENT_PREFIX, hash_secret, new_secret
from zenpro.authz.access import Access, require_org
from zenpro.authz.checker import Grants
from zenpro.authz.vocabulary import WORKSPACE_ADMIN_ID, Level
from zenpro.config import Settings
from zenpro.errors import Conflict, NotFound, flush_or_conflict
from zenpro.kit.db import apply_changes
from zenpro.kit.pagination import PageParams, Slice, fetch_page
from zenpro.models import Organization, RoleAssignment, User, Workspace
from zenpro.organizations import repository as org_repo
from zenpro.organizations.schemas import MemberRead, RoleRef
from zenpro.users.schemas import UserRead
from zenpro.workspaces import repository as repo
from zenpro.workspaces.schemas import (
    OrganizationSummary,
    ServiceConfiguration,
    ServiceStatus,
    Status,
    WorkspaceCreate,
    WorkspaceRead,
    WorkspaceUpdate,
    WorkspaceWithKey,
    ZenMLService,
)

_COLUMNS = (
    "id",
    "name",
    "display_name",
    "description",
    "logo_url",
    "is_managed",
    "desired_state",
    "state_reason",
    "status",
    "status_updated",
    "created",
    "updated",
)


def can_see(grants: Grants, ws_id: uuid.UUID, org_id: uuid.UUID) -> bool:
    """A workspace is visible to its members and to org roles that read workspaces."""
    return grants.in_workspace(ws_id) or grants.org_allows(org_id, "workspace", "read")


def readable_orgs(grants: Grants) -> set[uuid.UUID]:
    return {
        g.organization_id
        for g in grants.grants
        if g.level is Level.organization and ("workspace", "read") in g.pairs
    }


def list_stmt(access: Access, filters: repo.Filters, member_only: bool) -> Select[Any]:
    grants = access.grants
    if member_only:
        return repo.list_stmt(filters, readable_orgs=None, member_of=grants.member_workspaces)
    if grants.superuser:
        return repo.list_stmt(filters, readable_orgs=None, member_of=None)
    return repo.list_stmt(
        filters, readable_orgs=readable_orgs(grants), member_of=grants.member_workspaces
    )


def _service(ws: Workspace) -> ZenMLService:
    config = ServiceConfiguration(version=ws.zenml_version) if ws.zenml_version else None
    status = (
        ServiceStatus(server_url=ws.server_url, version=ws.server_version or ws.zenml_version)
        if ws.server_url
        else None
    )
    return ZenMLService(configuration=config, status=status)


def with_org_and_owner(stmt: Select[Any]) -> Select[Any]:
    """``stmt`` (workspaces) with each one's organization and owner: what :func:`reads`
    makes answers of, in the same statement (a list page)."""
    return (
        stmt.add_columns(Organization, User)
        .join(Organization, Organization.id == Workspace.organization_id)
        .join(User, User.id == Workspace.owner_id)
    )


async def to_read(
    db: AsyncSession, items: Sequence[Workspace], keys: dict[uuid.UUID, str] | None = None
) -> list[WorkspaceRead]:
    orgs = await org_repo.orgs_by_id(db, (w.organization_id for w in items))
    owners = await org_repo.users_by_id(db, (w.owner_id for w in items))
    return reads([(w, orgs[w.organization_id], owners[w.owner_id]) for w in items], keys)


def reads(
    rows: Sequence[tuple[Workspace, Organization, User]],
    keys: dict[uuid.UUID, str] | None = None,
) -> list[WorkspaceRead]:
    """The answers for workspaces with their organization and owner."""
    out: list[WorkspaceRead] = []
    for ws, org, owner in rows:
        data: dict[str, Any] = {c: getattr(ws, c) for c in _COLUMNS}
        data.update(
            organization=OrganizationSummary.model_validate(_org(org)),
            owner=UserRead.model_validate(owner),
            zenml_service=_service(ws),
            usage_counts=dict(ws.usage_counts or {}),
        )
        if keys is not None:
            out.append(WorkspaceWithKey(**data, enrollment_key=keys.get(ws.id)))
        else:
            out.append(WorkspaceRead(**data))
    return out


def _org(org: Organization) -> dict[str, Any]:
    cols = ("id", "name", "display_name", "description", "logo_url", "created", "updated")
    return {c: getattr(org, c) for c in cols}


async def one(db: AsyncSession, ws: Workspace) -> WorkspaceRead:
    (read,) = await to_read(db, [ws])
    return read


async def with_key(db: AsyncSession, ws: Workspace, key: str | None) -> WorkspaceWithKey:
    (read,) = await to_read(db, [ws], {ws.id: key} if key else {})
    assert isinstance(read, WorkspaceWithKey)
    return read


class LocalServerLimit(Conflict, code="local_server_limit"):
    """The local provisioner runs ``ZENPRO_LOCAL_MAX_SERVERS`` servers already (409)."""


async def _room_for_a_server(db: AsyncSession, settings: Settings) -> None:
    """Under the local provisioner, one more managed workspace must fit under
    ``ZENPRO_LOCAL_MAX_SERVERS`` (those not deactivated, failed or deleted count)."""
    if settings.workspace_provisioner != "local":
        return
    limit = settings.local_max_servers
    if await repo.count_running_managed(db) >= limit:
        raise LocalServerLimit(
            f"This zenpro runs at most {limit} local ZenML servers (ZENPRO_LOCAL_MAX_SERVERS) "
            "and that many managed workspaces are active: deactivate or delete one first, "
            "or ask the operator to raise the limit"
        )


async def create(
    db: AsyncSession, access: Access, data: WorkspaceCreate, enroll: bool, settings: Settings
) -> tuple[Workspace, str | None]:
    """Create a workspace (pending; the reconciler takes it from there). The creator
    gets Workspace Admin in it, so they can log in to it right away. ``enroll`` makes an
    externally run workspace and returns its one-time enrollment key; so does every
    create under ``ZENPRO_WORKSPACE_PROVISIONER=external`` (zenpro runs none)."""
    org_id = data.organization_id
    require_org(access.grants, org_id, "workspace", "create", "workspaces")
    if await org_repo.get(db, org_id) is None:
        raise NotFound(f"Organization {org_id} not found")
    conflict = f"A workspace named {data.name!r} already exists"
    if await repo.live_name_taken(db, data.name):
        raise Conflict(conflict)
    enroll = enroll or settings.workspace_provisioner == "external"
    managed = data.is_managed and not enroll
    if managed:
        await _room_for_a_server(db, settings)
    key = new_secret(ENROLLMENT_PREFIX) if enroll else None
    ws = Workspace(
        name=data.name,
        display_name=data.display_name,
        description=data.description,
        organization_id=org_id,
        owner_id=access.user_id,
        is_managed=managed,
        enrollment_key_hash=hash_secret(key) if key else None,
        desired_state="available",
        status=Status.pending,
        state_reason="",
        zenml_version=settings.zenml_version,
        usage_counts={},
    )
    db.add(ws)
    await flush_or_conflict(db, conflict)
    db.add(
        RoleAssignment.grant(
            WORKSPACE_ADMIN_ID, organization_id=org_id, user_id=access.user_id, workspace_id=ws.id
        )
    )
    await flush_or_conflict(db, conflict)
    return ws, key


def _refuse_if_deleted(ws: Workspace) -> None:
    if ws.status == Status.deleted:
        raise Conflict(f"Workspace {ws.name!r} is deleted: it can no longer be changed")


async def update(
    db: AsyncSession, ws: Workspace, data: WorkspaceUpdate, settings: Settings
) -> Workspace:
    """Profile fields apply at once; a new desired_state is acted on by the reconciler
    (a failed workspace asked to be available again is retried from pending). Bringing a
    deactivated or failed managed workspace back must fit under the local server limit
    (``settings``: the app's)."""
    _refuse_if_deleted(ws)
    changes = data.model_dump(exclude_unset=True)
    desired = changes.pop("desired_state", None)
    if desired == "deleted":
        await delete(db, ws)
        return ws
    if desired == "available" and ws.is_managed and ws.status in repo.NOT_RUNNING:
        await _room_for_a_server(db, settings)
    apply_changes(ws, changes)
    if desired is not None:
        ws.desired_state = desired
    await db.flush()
    if desired == "available" and ws.status == Status.failed:
        await repo.compare_and_set(db, ws.id, Status.failed, Status.pending, state_reason="")
    fresh = await repo.get(db, ws.id)
    assert fresh is not None
    return fresh


async def delete(db: AsyncSession, ws: Workspace) -> None:
    """Mark deleted at once (the record stays; the name becomes free) and end the
    workspace server's machine sessions."""
    _refuse_if_deleted(ws)
    ws.desired_state = "deleted"
    await db.flush()
    if not await repo.compare_and_set(db, ws.id, ws.status, Status.deleted, state_reason=""):
        raise Conflict("The workspace changed concurrently; retry")
    await repo.revoke_machine_tokens(db, ws.id)
    await repo.get(db, ws.id)


async def rotate_key(db: AsyncSession, ws: Workspace) -> str:
    """A new enrollment key; the old one stops working, and so does every machine token
    minted with it (in the same transaction): a key is rotated because it may have
    leaked, and a token obtained with a leaked key is as compromised as the key."""
    _refuse_if_deleted(ws)
    key = new_secret(ENROLLMENT_PREFIX)
    ws.enrollment_key_hash = hash_secret(key)
    await db.flush()
    await repo.revoke_machine_tokens(db, ws.id)
    return key


async def members(db: AsyncSession, ws: Workspace, page: PageParams) -> Slice[MemberRead]:
    """One page of the users with a workspace role (directly or through a team) or a share
    in it, by name, each with its workspace roles (items: :class:`MemberRead`)."""
    page_ = await fetch_page(db, repo.members_stmt(ws.id), page, *repo.by_username(db), User.id)
    users: list[User] = page_.items
    roles: dict[uuid.UUID, list[RoleRef]] = {u.id: [] for u in users}
    for user_id, role in await repo.workspace_roles(db, ws.id, list(roles)):
        held = roles[user_id]
        ref = RoleRef.of(role, ws.organization_id)
        if all(r.id != ref.id for r in held):
            held.append(ref)
    return replace(page_, items=[MemberRead.of_user(u, roles[u.id]) for u in users])
