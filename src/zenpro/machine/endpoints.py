"""What workspace servers call ([wire], spec §5 and §9): their status, user
authorization, entitlements and usage events.

``/users/authorize_server`` is registered here, before the users router, so that it wins
over ``/users/{user_id}``.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Header, Path
from pydantic import BaseModel, ConfigDict, Field

from zenpro import routing
from zenpro.auth.deps import CurrentPrincipal, ServerSigningIn, WorkspaceMachine
from zenpro.deps import DB, AppSettings
from zenpro.errors import BadRequest, NotFound, SubscriptionLimit, error_responses
from zenpro.kit.schemas import JSON_INTEGER, TEXT_PATTERN, URL_MAX, URL_PATTERN, text
from zenpro.machine import service
from zenpro.users.schemas import UserRead

router = routing.router(tags=["workspace servers"])


class WorkspaceStatus(BaseModel):
    id: uuid.UUID = Field(description="Workspace id.")
    status: str = Field(description="The workspace status (now `available`).")
    server_url: str | None = Field(description="Recorded from `zenml-server-url`.")
    server_version: str | None = Field(description="Recorded from `zenml-server-version`.")


class Entitlement(BaseModel):
    organization_id: uuid.UUID = Field(description="The organization.")
    feature: str = Field(description="The feature asked about.")
    allowed: bool = Field(description="Always true in a 200 (a reached limit is a 402).")
    limit: int | None = Field(description="Configured maximum (null: unlimited).")
    usage: int = Field(description="Current use, summed over the organization's workspaces.")


class UsageMetadata(BaseModel):
    model_config = ConfigDict(extra="allow")

    workspace_id: uuid.UUID | None = Field(None, description="The reporting workspace.")
    resource_id: uuid.UUID | None = Field(None, description="The created/deleted resource.")


class UsageEvent(BaseModel):
    """Sent by a workspace after creating (+1) or deleting (-1) a reportable resource."""

    model_config = ConfigDict(extra="allow")

    organization_id: uuid.UUID = Field(description="The workspace's organization.")
    feature: Annotated[str, text(64, min_length=1), Field(description="Feature name.")]
    total: Annotated[int, Field(ge=-1000, le=1000), JSON_INTEGER] = Field(
        description="+1 on create, -1 on delete."
    )
    metadata: UsageMetadata = Field(default_factory=UsageMetadata)


class UsageCounts(BaseModel):
    workspace_id: uuid.UUID = Field(description="The workspace counted.")
    feature: str = Field(description="The feature counted.")
    count: int = Field(description="The workspace's count after this event.")


@router.patch("/workspace_status", responses=error_responses(BadRequest))
async def update_workspace_status(
    db: DB,
    machine: WorkspaceMachine,
    zenml_server_url: Annotated[
        str | None, Header(max_length=URL_MAX, pattern=URL_PATTERN, description="Its URL.")
    ] = None,
    zenml_server_version: Annotated[
        str | None, Header(max_length=64, pattern=TEXT_PATTERN, description="Its version.")
    ] = None,
) -> WorkspaceStatus:
    """Report a workspace server's status

    Machine token only, no body: records the `zenml-server-url` (an absolute http(s) URL, else 422;
    a trailing `/` is dropped) and `zenml-server-version` headers and marks the workspace
    `available`.
    """
    ws = await service.record_status(
        db, machine.workspace_id, zenml_server_url, zenml_server_version
    )
    return WorkspaceStatus(
        id=ws.id, status=ws.status, server_url=ws.server_url, server_version=ws.server_version
    )


@router.get("/users/authorize_server", responses=error_responses(NotFound))
async def authorize_server(db: DB, signing: ServerSigningIn) -> UserRead:
    """Authorize a user on a workspace server

    Called by a workspace server with the *user's* Bearer (session, device or API token, or a raw
    `ZENPROKEY_` key). Returns the user (with `email` for humans) when they are a member of the
    workspace; 403 otherwise (saying nothing about the workspace) or when it is deactivated (told to
    members only).
    """
    return await service.authorize_server(db, signing.user, signing.server_id)


@router.get(
    "/organizations/{organization_id}/entitlement/{feature}",
    operation_id="get_entitlement",
    responses=error_responses(NotFound, SubscriptionLimit),
)
async def entitlement(
    db: DB,
    settings: AppSettings,
    actor: CurrentPrincipal,
    organization_id: uuid.UUID,
    feature: Annotated[
        str, Path(min_length=1, max_length=64, pattern=TEXT_PATTERN, description="A feature.")
    ],
) -> Entitlement:
    """Check an entitlement

    May the organization create one more `feature` (project, pipeline, pipeline_run, model, …)? 200
    when yes, 402 when a configured limit is reached. For the organization's workspace servers and
    members.
    """
    limit, usage = await service.entitlement(db, settings, actor, organization_id, feature)
    return Entitlement(
        organization_id=organization_id, feature=feature, allowed=True, limit=limit, usage=usage
    )


@router.post("/usage-event")
async def usage_event(db: DB, machine: WorkspaceMachine, body: UsageEvent) -> UsageCounts:
    """Report a usage event

    Machine token only: adds `total` to the workspace's `usage_counts[feature]` (atomically, never
    below zero).
    """
    count = await service.usage_event(
        db, machine, body.organization_id, body.metadata.workspace_id, body.feature, body.total
    )
    return UsageCounts(workspace_id=machine.workspace_id, feature=body.feature, count=count)
