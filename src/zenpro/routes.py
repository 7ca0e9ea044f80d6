"""The route table: every router of the app, in the order Starlette tries them.

Order matters twice. A fixed path must come before a ``{param}`` route that would also
match it (``/users/me`` before ``/users/{user_id}``; ``tests/test_route_order.py`` fails
otherwise), and the workspace servers' hot paths (``/rbac``, ``/users/me``) come first, so
they are found after few comparisons.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from zenpro import docs
from zenpro.api_keys import endpoints as api_keys
from zenpro.audit import endpoints as audit
from zenpro.auth import endpoints as auth
from zenpro.auth import pages
from zenpro.console import endpoints as console
from zenpro.devices import endpoints as devices
from zenpro.invitations import endpoints as invitations
from zenpro.machine import endpoints as machine
from zenpro.ops import health
from zenpro.organizations import endpoints as organizations
from zenpro.rbac import endpoints as rbac
from zenpro.roles import endpoints as roles
from zenpro.service_accounts import endpoints as service_accounts
from zenpro.sso import pages as sso
from zenpro.teams import endpoints as teams
from zenpro.users import endpoints as users
from zenpro.workspaces import endpoints as workspaces

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    rbac.router,
    api_keys.router,  # /users/me/api_keys, before /users/{user_id}
    machine.router,  # /users/authorize_server, likewise
    users.router,
    auth.router,
    pages.router,
    sso.router,
    docs.router,
    devices.router,
    organizations.router,
    workspaces.router,
    teams.router,
    invitations.router,
    roles.router,
    service_accounts.router,
    audit.router,
    console.router,
)


def include(app: FastAPI) -> None:
    for router in ROUTERS:
        app.include_router(router)
