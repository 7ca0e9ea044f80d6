"""Who is calling and what they hold, and the one 404/403 rule of organization objects.

Free of FastAPI: services take an :class:`Access` and call :func:`require_org`; the guards
(``authz.guards``) build the Access once per request and apply the same rule.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from zenpro.auth.principal import UserPrincipal
from zenpro.authz.checker import Grants
from zenpro.errors import Forbidden, NotFound


@dataclass(frozen=True)
class Access:
    """The caller and everything they hold, loaded once per request."""

    principal: UserPrincipal
    grants: Grants

    @property
    def user_id(self) -> uuid.UUID:
        return self.principal.user_id


def require_org(grants: Grants, org_id: uuid.UUID, rtype: str, action: str, what: str) -> None:
    """Outside the organization: 404, its existence is not revealed. Inside it without the
    organization permission ``(rtype, action)``: 403 naming what was refused."""
    if not grants.in_org(org_id):
        raise NotFound(f"Organization {org_id} not found")
    if not grants.org_allows(org_id, rtype, action):
        raise Forbidden(f"You may not {action} {what} in this organization")
