"""Guards for /organizations/{organization_id}/service_accounts (and the console's pages of
them): the organization-level ``service_account`` permission; outside the organization, 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from zenpro.authz.guards import Scoped
from zenpro.models import Organization
from zenpro.organizations.deps import org_guard

Creator = Annotated[Scoped[Organization], Depends(org_guard("service_account", "create"))]
Reader = Annotated[Scoped[Organization], Depends(org_guard("service_account", "read"))]
Updater = Annotated[Scoped[Organization], Depends(org_guard("service_account", "update"))]
Deleter = Annotated[Scoped[Organization], Depends(org_guard("service_account", "delete"))]
