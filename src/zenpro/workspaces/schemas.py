"""Workspace schemas. ``WorkspaceRead`` is a [wire] shape (spec §3): the ZenML CLI parses it."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, StrictBool

from zenpro.kit.schemas import Description, DisplayName, InputModel, Slug, Url
from zenpro.users.schemas import UserRead


class Status(StrEnum):
    not_initialized = "not_initialized"
    pending = "pending"
    available = "available"
    failed = "failed"
    deactivated = "deactivated"
    deleted = "deleted"


class DesiredState(StrEnum):
    not_initialized = "not_initialized"
    available = "available"
    deactivated = "deactivated"
    deleted = "deleted"


class OrganizationSummary(BaseModel):
    """The workspace's organization: the CLI requires id, name, created and updated."""

    id: uuid.UUID = Field(description="Organization id.")
    name: str = Field(description="Organization name.")
    display_name: str | None = Field(None, description="Free-text name.")
    description: str | None = Field(None, description="Description.")
    logo_url: str | None = Field(None, description="Logo image URL.")
    created: datetime = Field(description="Creation time (UTC).")
    updated: datetime = Field(description="Last update (UTC).")


class ServiceConfiguration(BaseModel):
    version: str = Field(description="ZenML version the workspace is configured for.")


class ServiceStatus(BaseModel):
    server_url: str = Field(description="Where the workspace server is reached.")
    version: str | None = Field(None, description="ZenML version the server reported.")


class ZenMLService(BaseModel):
    configuration: ServiceConfiguration | None = Field(
        description="Configured version (the key is always present)."
    )
    status: ServiceStatus | None = Field(
        None, description="What the running server reported, once it has."
    )


class WorkspaceRead(BaseModel):
    """A workspace ("tenant")."""

    id: uuid.UUID = Field(description="Workspace id.")
    name: str = Field(description="Slug, unique among workspaces that are not deleted.")
    display_name: str | None = Field(description="Free-text name.")
    description: str | None = Field(description="Description.")
    logo_url: str | None = Field(description="Logo image URL.")
    organization: OrganizationSummary = Field(description="The owning organization.")
    owner: UserRead = Field(description="The user who created it.")
    is_managed: bool = Field(description="Run by zenpro (true) or enrolled from outside.")
    zenml_service: ZenMLService = Field(description="Configured and reported ZenML server.")
    usage_counts: dict[str, int] = Field(description="Usage counters by feature.")
    desired_state: DesiredState = Field(description="What was asked.")
    state_reason: str = Field(description="Why the status is what it is ('' when fine).")
    status: Status = Field(description="What is.")
    status_updated: datetime = Field(description="When the status last changed (UTC).")
    created: datetime = Field(description="Creation time (UTC).")
    updated: datetime = Field(description="Last update (UTC).")


class WorkspaceWithKey(WorkspaceRead):
    """Returned once, by the request that creates or rotates the enrollment key."""

    enrollment_key: str | None = Field(
        None,
        description="The workspace server's client secret (OAuth2 client_credentials). "
        "Shown only in this response; only its hash is stored.",
    )


class WorkspaceCreate(InputModel):
    name: Slug
    display_name: DisplayName | None = Field(None, description="Free-text name.")
    description: Description | None = Field(None, description="Description.")
    organization_id: uuid.UUID = Field(description="The organization to create it in.")
    is_managed: StrictBool = Field(
        True, description="Run by zenpro's provisioner; ignored (false) with enroll=true."
    )


class WorkspaceUpdate(InputModel):
    display_name: DisplayName | None = Field(None, description="Free-text name.")
    description: Description | None = Field(None, description="Description.")
    logo_url: Url | None = Field(None, description="Logo image URL.")
    desired_state: Literal["available", "deactivated", "deleted"] | None = Field(
        None, description="available (reactivate), deactivated, or deleted."
    )
