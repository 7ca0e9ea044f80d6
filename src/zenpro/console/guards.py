"""Guards on the organization in a console page's address where the API has none to
share: it creates teams and workspaces from a body that names the organization
(``require_org(..., "team" | "workspace" | "role", "create")``), the console posts to a path under
it. The same rule, as the API's ``org_guard``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from zenpro.authz.guards import Scoped
from zenpro.models import Organization
from zenpro.organizations.deps import org_guard

TeamCreate = Annotated[Scoped[Organization], Depends(org_guard("team", "create"))]
RoleCreate = Annotated[Scoped[Organization], Depends(org_guard("role", "create"))]
WorkspaceCreate = Annotated[Scoped[Organization], Depends(org_guard("workspace", "create"))]
