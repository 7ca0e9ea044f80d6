"""Guards for routes under /organizations/{organization_id}.

Each loads the organization through the caller's visibility (not a member → 404) and
then checks the organization role (→ 403).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.authz.checker import Grants
from zenpro.authz.guards import Scoped, Target, resource_guard
from zenpro.kit.params import OrganizationRef
from zenpro.models import Organization
from zenpro.organizations import repository as repo


async def load_org(db: AsyncSession, raw: str) -> Target[Organization] | None:
    org = await repo.find(db, raw)
    return Target(org, org.id) if org is not None else None


def _member(grants: Grants, target: Target[Any]) -> bool:
    """Anyone who belongs to an organization may read it."""
    return grants.in_org(target.organization_id)


def org_guard(rtype: str, action: str, param: str = "organization_id") -> Callable[..., Any]:
    return resource_guard(
        rtype,
        action,
        param=param,
        ref=OrganizationRef,
        load=load_org,
        noun="organization",
        allowed=_member if (rtype, action) == ("organization", "read") else None,
    )


# Every organization guard finds the organization by its id or its name.
OrgByIdOrName = Annotated[Scoped[Organization], Depends(org_guard("organization", "read"))]
OrgRead = Annotated[Scoped[Organization], Depends(org_guard("organization", "read"))]
OrgUpdate = Annotated[Scoped[Organization], Depends(org_guard("organization", "update"))]
OrgDelete = Annotated[Scoped[Organization], Depends(org_guard("organization", "delete"))]
MemberRead = Annotated[Scoped[Organization], Depends(org_guard("member", "read"))]
MemberCreate = Annotated[Scoped[Organization], Depends(org_guard("member", "create"))]
MemberDelete = Annotated[Scoped[Organization], Depends(org_guard("member", "delete"))]
