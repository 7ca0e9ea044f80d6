"""The console's router: its page modules in the order Starlette must try them (fixed
paths such as ``/console/organizations/new`` before ``{organization_id}`` ones)."""

from __future__ import annotations

from zenpro import routing
from zenpro.console import (
    account,
    audit,
    home,
    invitations,
    members,
    organizations,
    roles,
    service_accounts,
    teams,
    workspaces,
)

router = routing.router(include_in_schema=False)
for _pages in (
    home.router,
    organizations.router,
    workspaces.router,
    members.router,
    teams.router,
    service_accounts.router,
    roles.router,
    audit.router,
    account.router,
    invitations.router,
):
    router.include_router(_pages)
