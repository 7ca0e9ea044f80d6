"""Rules for what workspace servers ask of the control plane."""

from __future__ import annotations

import uuid

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.auth.principal import MachinePrincipal, Principal, UserPrincipal
from zenpro.authz.checker import load_grants
from zenpro.config import Settings
from zenpro.errors import BadRequest, Forbidden, NotFound, SubscriptionLimit
from zenpro.kit.schemas import Url
from zenpro.models import User, Workspace
from zenpro.users.schemas import UserRead
from zenpro.workspaces.lifecycle import record_server_status

GONE = ("deleted",)
_URL: TypeAdapter[str] = TypeAdapter(Url)
OFF = ("deactivated",)
NOT_AUTHORIZED = "You are not authorized to access this server"


async def record_status(
    db: AsyncSession, workspace_id: uuid.UUID, url: str | None, version: str | None
) -> Workspace:
    """``PATCH /workspace_status``: the workspaces domain records the headers and moves an
    enrolled workspace to ``available``."""
    ws = await db.get(Workspace, workspace_id)
    if ws is None or ws.status in GONE:
        raise NotFound(f"Workspace {workspace_id} not found")
    if ws.status in OFF:
        raise Forbidden(f"Workspace {ws.name} is {ws.status}")
    server_url = _server_url(url) if url else (ws.server_url or "")
    return await record_server_status(db, workspace_id, server_url, version)


def _server_url(raw: str) -> str:
    """The ``zenml-server-url`` a workspace server reports, if it is an absolute http(s)
    URL (the ``Url`` rule of every URL field, ``kit.schemas``), without a trailing slash.

    The URL is shown to users and followed by browsers and the CLI: a
    ``javascript:`` or ``data:`` URL there would run in whoever clicks it (issue 12).
    """
    url = raw.strip().rstrip("/")
    try:
        return _URL.validate_python(url)
    except ValidationError:
        raise BadRequest(
            "The zenml-server-url header must be an absolute http:// or https:// URL such "
            f"as https://zenml.example.com (got {raw[:100]!r})"
        ) from None


async def _workspace(db: AsyncSession, raw: str) -> Workspace:
    try:
        ws = await db.get(Workspace, uuid.UUID(raw))
    except ValueError:
        ws = None
    if ws is None or ws.status in GONE:
        raise NotFound(f"Workspace {raw!r} not found")
    return ws


async def authorize_server(db: AsyncSession, actor: UserPrincipal, server_id: str) -> UserRead:
    """The user a workspace server should log in, if they may use that workspace.

    The wire needs 401/403 for "not authorized" and 404 for a server id we do not know
    ([wire] §3.3, S3). A caller who is no member learns nothing more than that (issue 12:
    the 403 used to name the workspace, or say it was deactivated); a member is told
    when their workspace is deactivated.

    Humans always carry an ``email``: a workspace refuses the second login of a user
    without one ([wire] §3.5), so an address-less account gets a stable placeholder."""
    ws = await _workspace(db, server_id)
    grants = await load_grants(db, actor)
    if not grants.in_workspace(ws.id):
        # Nothing about a workspace the caller cannot see: not its name, not its state.
        raise Forbidden(NOT_AUTHORIZED)
    if ws.status in OFF or ws.desired_state in OFF:
        raise Forbidden(f"Workspace {ws.name} is deactivated")
    user = await db.get(User, actor.user_id)
    if user is None:
        raise NotFound("Your user no longer exists")
    body = UserRead.model_validate(user)
    if not user.is_service_account and not user.email:
        body = body.model_copy(update={"email": f"{user.username}@users.noreply.zenpro"})
    return body


async def entitlement(
    db: AsyncSession, settings: Settings, actor: Principal, org_id: uuid.UUID, feature: str
) -> tuple[int | None, int]:
    if isinstance(actor, MachinePrincipal):
        if actor.organization_id != org_id:
            raise Forbidden("A workspace may only ask about its own organization")
    elif not (await load_grants(db, actor)).in_org(org_id):
        raise NotFound(f"Organization {org_id} not found")
    limit = settings.entitlement_limits.get(feature)
    usage = await _org_usage(db, org_id, feature)
    if limit is not None and usage >= limit:
        raise SubscriptionLimit(
            f"Your subscription reached its {feature} limit ({limit}): delete some or "
            "ask the operator to raise ZENPRO_ENTITLEMENT_LIMITS"
        )
    return limit, usage


async def _org_usage(db: AsyncSession, org_id: uuid.UUID, feature: str) -> int:
    stmt = select(Workspace.usage_counts).where(
        Workspace.organization_id == org_id, Workspace.status != "deleted"
    )
    return sum(int((counts or {}).get(feature, 0)) for counts in (await db.scalars(stmt)).all())


async def usage_event(
    db: AsyncSession,
    machine: MachinePrincipal,
    org_id: uuid.UUID,
    workspace_id: uuid.UUID | None,
    feature: str,
    total: int,
) -> int:
    """Add ``total`` to the workspace's counter under a row lock (PostgreSQL ``FOR
    UPDATE``; SQLite transactions here are ``BEGIN IMMEDIATE``, already serialized)."""
    if org_id != machine.organization_id or (
        workspace_id is not None and workspace_id != machine.workspace_id
    ):
        raise Forbidden("A workspace may only report its own usage")
    ws = await db.get(Workspace, machine.workspace_id, with_for_update=True, populate_existing=True)
    if ws is None:
        raise NotFound("Workspace not found")
    counts = dict(ws.usage_counts or {})
    counts[feature] = max(0, int(counts.get(feature, 0)) + total)
    ws.usage_counts = counts
    await db.flush()
    return counts[feature]
