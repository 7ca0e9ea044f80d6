"""Guards for /workspaces/{id}: load through visibility (→ 404), then check (→ 403)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.authz.checker import Grants
from zenpro.authz.guards import Scoped, Target, resource_guard
from zenpro.kit.params import WorkspaceRef
from zenpro.models import Workspace
from zenpro.workspaces import repository as repo
from zenpro.workspaces.service import can_see


async def load_workspace(db: AsyncSession, raw: str) -> Target[Workspace] | None:
    ws = await repo.find(db, raw)
    return Target(ws, ws.organization_id, ws.id) if ws is not None else None


def _visible(grants: Grants, target: Target[Workspace]) -> bool:
    return can_see(grants, target.obj.id, target.organization_id)


def _member(grants: Grants, target: Target[Workspace]) -> bool:
    return grants.in_workspace(target.obj.id)


def _guard(action: str, param: str = "workspace_id") -> Any:
    return resource_guard(
        "workspace",
        action,
        param=param,
        ref=WorkspaceRef,
        load=load_workspace,
        visible=_visible,
        allowed=_member if action == "read" else None,
    )


WsByIdOrName = Annotated[Scoped[Workspace], Depends(_guard("read"))]
WsRead = Annotated[Scoped[Workspace], Depends(_guard("read"))]
WsUpdate = Annotated[Scoped[Workspace], Depends(_guard("update"))]
WsDelete = Annotated[Scoped[Workspace], Depends(_guard("delete"))]
