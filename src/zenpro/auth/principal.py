"""Who is calling: one typed, frozen value resolved once per request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from zenpro.models import User


class Kind(StrEnum):
    user = "user"
    service_account = "service_account"
    workspace = "workspace"


class Credential(StrEnum):
    session = "session"  # browser or password login
    api = "api"  # /auth/api_token, API-key exchange
    device = "device"  # device flow
    machine = "machine"  # workspace client_credentials
    api_key = "api_key"  # a raw ZENPROKEY_ key used as Bearer
    # the console signing its user in to one workspace server: accepted by nothing but
    # that workspace's GET /users/authorize_server (``auth.service.resolve``)
    exchange = "exchange"


@dataclass(frozen=True, slots=True)
class UserPrincipal:
    """A user or a service account, through any of its credentials."""

    kind: Kind  # Kind.user or Kind.service_account
    credential: Credential
    user_id: uuid.UUID
    organization_id: uuid.UUID | None = None  # a service account's organization
    is_superuser: bool = False
    token_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    via_cookie: bool = False
    # When the credential itself stops working (None: never by time). Whatever is minted
    # with it may not outlive it (credential lineage, ``auth.service``).
    expires: datetime | None = None
    audience: uuid.UUID | None = None  # an ``exchange`` credential's one workspace

    @classmethod
    def of(cls, user: User, credential: Credential, **extra: Any) -> UserPrincipal:
        """The principal of ``user`` (or service account) acting through ``credential``."""
        return cls(
            kind=Kind.service_account if user.is_service_account else Kind.user,
            credential=credential,
            user_id=user.id,
            organization_id=user.organization_id,
            is_superuser=user.is_superuser,
            **extra,
        )

    @property
    def actor_id(self) -> uuid.UUID:
        """Who acts, as the audit trail records it."""
        return self.user_id

    @property
    def is_delegated(self) -> bool:
        """Acting through a credential other than a browser or password session: what it
        mints descends from it (ends with it, expires no later)."""
        return self.credential in (Credential.api, Credential.device, Credential.api_key)


@dataclass(frozen=True, slots=True)
class MachinePrincipal:
    """A workspace server, through its machine token."""

    workspace_id: uuid.UUID
    organization_id: uuid.UUID
    token_id: uuid.UUID | None = None
    expires: datetime | None = None
    kind: ClassVar[Kind] = Kind.workspace
    credential: ClassVar[Credential] = Credential.machine
    is_superuser: ClassVar[bool] = False

    @property
    def actor_id(self) -> uuid.UUID:
        """Who acts, as the audit trail records it."""
        return self.workspace_id


Principal = UserPrincipal | MachinePrincipal
