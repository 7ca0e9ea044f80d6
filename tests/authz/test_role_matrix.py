"""Organization role by control-plane route matrix (issue 4, spec §6).

One table: for each route, the status class each system organization role gets. A fresh
organization per case; the caller holds exactly one organization role there, plus a
Workspace Viewer assignment in one workspace and membership of one team (their "own"),
so "Member sees only their own workspaces/teams" is tested both ways.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.authz import assign, make_org, make_team, make_workspace
from tests.fixtures.factories import bearer, make_user, token_for
from zenpro.authz.vocabulary import ORG_MEMBER_ID, SYSTEM_ROLE_BY_NAME, WORKSPACE_VIEWER_ID

ROLES = ("Admin", "Manager", "Viewer", "Billing", "Member")
ROLE_NAMES = {
    "Admin": "Organization Admin",
    "Manager": "Organization Manager",
    "Viewer": "Organization Viewer",
    "Billing": "Billing Admin",
    "Member": "Organization Member",
}


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    # Expected class per role, in ROLES order: "2" (2xx), "3" (403), "4" (404).
    expect: str
    json: Any = None
    params: dict[str, str] | None = None


def _in_org(name: str, org: str = "{org}") -> dict[str, Any]:
    return {"name": name, "organization_id": org}


def _stack_reader(name: str, org: str = "{org}") -> dict[str, Any]:
    """A custom workspace-level role that reads stacks."""
    permissions = [{"resource_type": "stack", "actions": ["read"]}]
    return {**_in_org(name, org), "level": "workspace", "permissions": permissions}


ORG = "/organizations/{org}"
SA = ORG + "/service_accounts/{sa}"
# Spec §6: Admin everything; Manager create/read/update (no delete, no billing); Viewer
# read all but billing; Billing Admin read organization (+ billing); Member read
# organization and only the workspaces and teams they belong to. Invisible → 404,
# visible but not allowed → 403.
#                                                              Adm Man Vie Bil Mem
CASES = (
    Case("read org", "GET", ORG, "22222"),
    Case("update org", "PATCH", "/organizations/{org}", "22333", json={"description": "x"}),
    Case("delete org", "DELETE", "/organizations/{org}", "23333", params={"force": "true"}),
    Case("list members", "GET", ORG + "/members", "22233"),
    Case("remove member", "DELETE", ORG + "/members", "23333", params={"user_id": "{carol}"}),
    Case("list workspaces", "GET", ORG + "/workspaces", "22222"),
    Case("create workspace", "POST", "/workspaces", "22333", json=_in_org("new-ws")),
    Case("read other workspace", "GET", "/workspaces/{ws}", "22244"),
    Case("read own workspace", "GET", "/workspaces/{own_ws}", "22222"),
    Case("update workspace", "PATCH", "/workspaces/{ws}", "22344", json={"description": "x"}),
    Case("delete workspace", "DELETE", "/workspaces/{ws}", "23344"),
    Case("workspace members", "GET", "/workspaces/{ws}/members", "22244"),
    Case("rotate enrollment key", "POST", "/workspaces/{ws}/enrollment_key", "22344"),
    Case("list teams", "GET", ORG + "/teams", "22222"),
    Case("create team", "POST", "/teams", "22333", json=_in_org("new-team")),
    Case("read other team", "GET", "/teams/{team}", "22244"),
    Case("read own team", "GET", "/teams/{own_team}", "22222"),
    Case("update team", "PATCH", "/teams/{team}", "22344", json={"description": "x"}),
    Case("delete team", "DELETE", "/teams/{team}", "23344"),
    Case("add team member", "POST", "/teams/{team}/members", "22344", params={"user_id": "{erin}"}),
    Case("list invitations", "GET", ORG + "/invitations", "22233"),
    Case("invite", "POST", ORG + "/invitations", "22333", json={"email": "new@example.com"}),
    Case("revoke invitation", "DELETE", ORG + "/invitations/{inv}", "23333"),
    Case("list roles", "GET", ORG + "/roles", "22222"),
    Case("create role", "POST", "/roles", "22333", json=_stack_reader("new-role")),
    Case("update role", "PATCH", "/roles/{role}", "22333", json={"description": "x"}),
    Case("delete role", "DELETE", "/roles/{role}", "23333"),
    Case(
        "assign org role",
        "POST",
        "/roles/{member_role}/assignments",
        "22333",
        params={"user_id": "{dave}", "organization_id": "{org}"},
    ),
    Case("list service accounts", "GET", ORG + "/service_accounts", "22233"),
    Case(
        "create service account",
        "POST",
        ORG + "/service_accounts",
        "22333",
        json={"name": "new-sa"},
    ),
    Case("read service account", "GET", SA, "22233"),
    Case("update service account", "PATCH", SA, "22333", json={"description": "x"}),
    Case("delete service account", "DELETE", SA, "23333"),
    Case("create service account key", "POST", SA + "/api_keys", "22333", json={"name": "k"}),
)


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


async def _world(
    client: httpx.AsyncClient, db: AsyncSession, role: str
) -> tuple[dict[str, str], dict[str, str]]:
    owner, actor, carol, dave, erin = [await make_user(db) for _ in range(5)]
    org = await make_org(db, owner)
    await assign(db, SYSTEM_ROLE_BY_NAME[ROLE_NAMES[role]].id, org, user=actor)
    await assign(db, ORG_MEMBER_ID, org, user=carol)
    await assign(db, ORG_MEMBER_ID, org, user=erin)
    ws, own_ws = await make_workspace(db, org), await make_workspace(db, org)
    await assign(db, WORKSPACE_VIEWER_ID, org, user=actor, workspace=own_ws)
    team, own_team = await make_team(db, org, carol), await make_team(db, org, actor)
    await make_team(db, org, dave)  # dave belongs (by a team) but holds no role yet
    h = bearer(await token_for(db, owner))
    o = str(org.id)

    async def post(path: str, body: dict[str, Any]) -> str:
        r = await client.post(path, json=body, headers=h)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    ids = {
        "org": o,
        "ws": str(ws.id),
        "own_ws": str(own_ws.id),
        "team": str(team.id),
        "own_team": str(own_team.id),
        "carol": str(carol.id),
        "dave": str(dave.id),
        "erin": str(erin.id),
        "member_role": str(ORG_MEMBER_ID),
        "inv": await post(f"/organizations/{o}/invitations", {"email": "inv@example.com"}),
        "sa": await post(f"/organizations/{o}/service_accounts", {"name": "sa-1"}),
        "role": await post("/roles", _stack_reader("custom", o)),
    }
    return ids, bearer(await token_for(db, actor))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_role_route_matrix(
    client: httpx.AsyncClient, db: AsyncSession, role: str, case: Case
) -> None:
    ids, headers = await _world(client, db, role)
    r = await client.request(
        case.method,
        _fill(case.path.replace("{org}", ids["org"]), ids),
        json=_fill(case.json, ids),
        params=_fill(case.params, ids),
        headers=headers,
    )
    want = case.expect[ROLES.index(role)]
    got = {2: "2", 4: "3" if r.status_code == 403 else "4" if r.status_code == 404 else "?"}.get(
        r.status_code // 100, "?"
    )
    assert got == want, f"{role} {case.method} {case.path}: {r.status_code} {r.text}"


def test_the_table_covers_every_role_and_the_named_rules() -> None:
    assert all(len(c.expect) == len(ROLES) for c in CASES)
    by_name = {c.name: c for c in CASES}
    assert by_name["delete org"].expect[ROLES.index("Manager")] == "3"
    assert by_name["create workspace"].expect[ROLES.index("Viewer")] == "3"
    assert by_name["read other workspace"].expect[ROLES.index("Member")] == "4"
    assert by_name["read own workspace"].expect[ROLES.index("Member")] == "2"
