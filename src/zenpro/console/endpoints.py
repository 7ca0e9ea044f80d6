"""The console's router: its page modules in the order Starlette must try them (fixed
paths such as ``/console/organizations/new`` before ``{organization_id}`` ones)."""

from __future__ import annotations

from zenpro import routing
from zenpro.console import (
    account,
    assignments,
    audit,
    handoff,
    home,
    invitations,
    members,
    organizations,
    roles,
    service_accounts,
    teams,
    workspace_view,
    workspaces,
)

router = routing.router(include_in_schema=False)
for _pages in (
    home.router,
    handoff.router,  # /console/api/auth/login: a Pro-mode ZenML server's sign-in entry
    organizations.router,
    workspaces.router,
    workspace_view.router,  # what a workspace's ZenML server holds, under its page
    members.router,
    teams.router,
    service_accounts.router,
    roles.router,
    assignments.router,
    audit.router,
    account.router,
    invitations.router,
):
    router.include_router(_pages)
