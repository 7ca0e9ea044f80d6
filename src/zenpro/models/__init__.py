"""ORM models, one file per table. Alembic imports this package."""

from zenpro.kit.db import Base
from zenpro.models.api_key import APIKey
from zenpro.models.audit_event import AuditEvent
from zenpro.models.cache_epoch import CacheChange, CacheEpoch
from zenpro.models.device import Device
from zenpro.models.invitation import Invitation
from zenpro.models.oidc import OIDCFlow, OIDCIdentity
from zenpro.models.organization import Organization
from zenpro.models.role import Role, RolePermission
from zenpro.models.role_alias import RoleAlias
from zenpro.models.role_assignment import RoleAssignment
from zenpro.models.share import Share
from zenpro.models.team import Team, TeamMember
from zenpro.models.token import Token
from zenpro.models.user import User
from zenpro.models.workspace import Workspace

__all__ = [
    "APIKey",
    "AuditEvent",
    "Base",
    "CacheChange",
    "CacheEpoch",
    "Device",
    "Invitation",
    "OIDCFlow",
    "OIDCIdentity",
    "Organization",
    "Role",
    "RoleAlias",
    "RoleAssignment",
    "RolePermission",
    "Share",
    "Team",
    "TeamMember",
    "Token",
    "User",
    "Workspace",
]
