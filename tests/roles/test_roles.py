"""Custom roles, system roles, assignments and privilege escalation."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.authz import assign, holder_of, join, make_org, make_workspace
from tests.fixtures.factories import bearer, make_user, token_for
from tests.fixtures.orgs import assign_via_api
from tests.fixtures.roles import ORG_MANAGER as MANAGER
from tests.fixtures.roles import ORG_MEMBER as MEMBER
from tests.fixtures.roles import WS_ADMIN, WS_VIEWER
from tests.fixtures.roles import WS_DEVELOPER as WS_DEV
from zenpro.authz.vocabulary import ORG_ADMIN_ID, SYSTEM_ROLE_BY_NAME
from zenpro.models import Organization, User, Workspace
from zenpro.models.role_alias import alias_id


def _role(org: Organization, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "organization_id": str(org.id),
        "name": "deployers",
        "level": "workspace",
        "permissions": [{"resource_type": "pipeline", "actions": ["read", "create"]}],
    }
    body.update(extra)
    return body


async def _org_ws_and_user(
    db: AsyncSession, owner: User, username: str, *, member: bool = False
) -> tuple[Organization, Workspace, User]:
    """``owner``'s organization with one workspace, and user ``username`` (a member of the
    organization when ``member``)."""
    org = await make_org(db, owner)
    ws, user = await make_workspace(db, org), await make_user(db, username)
    if member:
        await join(db, org, user)
    return org, ws, user


async def test_system_roles_are_listed_and_read_only(
    client: httpx.AsyncClient, db: AsyncSession, alice: User, alice_headers: dict[str, str]
) -> None:
    org = await make_org(db, alice)
    r = await client.get(f"/organizations/{org.id}/roles", headers=alice_headers)
    assert r.status_code == 200
    names = {x["name"] for x in r.json()}
    assert {"Organization Admin", "Workspace Viewer", "Project Admin"} <= names
    admin_role = next(x for x in r.json() if x["name"] == "Organization Admin")
    assert admin_role["system_managed"] is True
    # listed as the organization's own instance, as the real API does
    assert admin_role["organization_id"] == str(org.id)
    assert admin_role["id"] == str(alias_id(org.id, ORG_ADMIN_ID))
    assert admin_role["type"] == "normal"
    for rid in (ORG_ADMIN_ID, admin_role["id"]):
        patch = await client.patch(f"/roles/{rid}", json={"name": "x"}, headers=alice_headers)
        assert patch.status_code == 403
        delete = await client.delete(f"/roles/{rid}", headers=alice_headers)
        assert delete.status_code == 403
    system = await client.get(f"/roles/{ORG_ADMIN_ID}", headers=alice_headers)
    assert system.json()["organization_id"] is None
    filtered = await client.get(
        f"/organizations/{org.id}/roles", params={"level": "project"}, headers=alice_headers
    )
    assert {x["level"] for x in filtered.json()} == {"project"}


async def test_custom_role_lifecycle(
    client: httpx.AsyncClient, db: AsyncSession, alice: User, alice_headers: dict[str, str]
) -> None:
    org = await make_org(db, alice)
    r = await client.post("/roles", json=_role(org), headers=alice_headers)
    assert r.status_code == 201, r.text
    role = r.json()
    assert role["permissions"] == [{"resource_type": "pipeline", "actions": ["create", "read"]}]
    dup = await client.post("/roles", json=_role(org), headers=alice_headers)
    assert dup.status_code == 409
    upd = await client.patch(
        f"/roles/{role['id']}",
        json={"permissions": [{"resource_type": "stack", "actions": ["read"]}]},
        headers=alice_headers,
    )
    assert upd.status_code == 200
    assert upd.json()["permissions"] == [{"resource_type": "stack", "actions": ["read"]}]
    assert (await client.delete(f"/roles/{role['id']}", headers=alice_headers)).status_code == 200
    assert (await client.get(f"/roles/{role['id']}", headers=alice_headers)).status_code == 404


async def test_unknown_types_and_actions_are_422_naming_them(
    client: httpx.AsyncClient, db: AsyncSession, alice: User, alice_headers: dict[str, str]
) -> None:
    org = await make_org(db, alice)
    bad_type = _role(org, permissions=[{"resource_type": "spaceship", "actions": ["read"]}])
    r = await client.post("/roles", json=bad_type, headers=alice_headers)
    assert r.status_code == 422
    assert "spaceship" in r.text
    bad_action = _role(org, permissions=[{"resource_type": "stack", "actions": ["fly"]}])
    r = await client.post("/roles", json=bad_action, headers=alice_headers)
    assert r.status_code == 422
    assert "fly" in r.text
    # a project-level role cannot hold global (workspace-only) types
    outside = _role(
        org, level="project", permissions=[{"resource_type": "stack", "actions": ["read"]}]
    )
    r = await client.post("/roles", json=outside, headers=alice_headers)
    assert r.status_code == 422
    # an organization-level role cannot hold workspace types
    org_level = _role(
        org, level="organization", permissions=[{"resource_type": "stack", "actions": ["read"]}]
    )
    assert (await client.post("/roles", json=org_level, headers=alice_headers)).status_code == 422


async def test_role_in_use_needs_force(
    client: httpx.AsyncClient, db: AsyncSession, alice: User, alice_headers: dict[str, str]
) -> None:
    org, ws, bob = await _org_ws_and_user(db, alice, "bob", member=True)
    role = (await client.post("/roles", json=_role(org), headers=alice_headers)).json()
    r = await assign_via_api(client, role["id"], alice_headers, user=bob, workspace=ws)
    assert r.status_code == 201, r.text
    assert r.json()["user"]["username"] == "bob"
    assert (await client.delete(f"/roles/{role['id']}", headers=alice_headers)).status_code == 409
    forced = await client.delete(
        f"/roles/{role['id']}", params={"force": "True"}, headers=alice_headers
    )
    assert forced.status_code == 200


async def test_assignment_parameters_are_validated(
    client: httpx.AsyncClient, db: AsyncSession, alice: User, alice_headers: dict[str, str]
) -> None:
    _, ws, bob = await _org_ws_and_user(db, alice, "bob", member=True)

    def viewer(**scope: Any) -> Awaitable[httpx.Response]:
        return assign_via_api(client, WS_VIEWER, alice_headers, **scope)

    assert (await viewer(workspace=ws)).status_code == 422  # nobody
    assert (await viewer(user=bob, team=uuid.uuid4(), workspace=ws)).status_code == 422  # two
    # The scope must fit the role's level: a conflict with the role, not a malformed request.
    assert (await viewer(user=bob)).status_code == 409  # no workspace
    org_with_ws = await assign_via_api(client, MEMBER, alice_headers, user=bob, workspace=ws)
    assert org_with_ws.status_code == 409
    assert (await viewer(user=bob, workspace=ws)).status_code == 201
    assert (await viewer(user=bob, workspace=ws)).status_code == 409  # again
    listed = await client.get(f"/roles/{WS_VIEWER}/assignments", headers=alice_headers)
    assert [a["user"]["username"] for a in listed.json()] == ["bob"]
    assert (await viewer(user=bob, workspace=ws, method="DELETE")).status_code == 200
    assert (await viewer(user=bob, workspace=ws, method="DELETE")).status_code == 404


async def test_workspace_developer_cannot_assign_workspace_admin(
    client: httpx.AsyncClient, db: AsyncSession, alice: User
) -> None:
    org, ws, target = await _org_ws_and_user(db, alice, "target")
    _, headers = await holder_of(db, WS_DEV, org, workspace=ws, username="dev")
    r = await assign_via_api(client, WS_ADMIN, headers, user=target, workspace=ws)
    assert r.status_code == 403


async def test_workspace_admin_assigns_within_what_they_hold(
    client: httpx.AsyncClient, db: AsyncSession, alice: User
) -> None:
    org, ws, target = await _org_ws_and_user(db, alice, "target", member=True)
    _, headers = await holder_of(db, WS_ADMIN, org, workspace=ws, username="wsadmin")
    ok = await assign_via_api(client, WS_VIEWER, headers, user=target, workspace=ws)
    assert ok.status_code == 201, ok.text
    org_role = await assign_via_api(client, MANAGER, headers, user=target, org=org)
    assert org_role.status_code == 403


async def test_org_manager_cannot_make_org_admins(
    client: httpx.AsyncClient, db: AsyncSession, alice: User
) -> None:
    org = await make_org(db, alice)
    target = await make_user(db, "target")
    await assign(db, SYSTEM_ROLE_BY_NAME["Organization Viewer"].id, org, user=target)
    _, headers = await holder_of(db, MANAGER, org, username="manager")
    admin_grant = await assign_via_api(client, ORG_ADMIN_ID, headers, user=target, org=org)
    assert admin_grant.status_code == 403
    member_grant = await assign_via_api(client, MEMBER, headers, user=target, org=org)
    assert member_grant.status_code == 201
    perms = await client.get(
        "/permissions",
        params={"organization_id": str(org.id), "resource": ["organization", "billing"]},
        headers=headers,
    )
    assert perms.status_code == 200
    answers = {p["resource"]: set(p["actions"]) for p in perms.json()}
    assert "delete" not in answers["organization"]
    assert answers["billing"] == set()


async def test_owner_keeps_org_admin(
    client: httpx.AsyncClient, db: AsyncSession, alice: User, alice_headers: dict[str, str]
) -> None:
    org = await make_org(db, alice)
    r = await assign_via_api(
        client, ORG_ADMIN_ID, alice_headers, user=alice, org=org, method="DELETE"
    )
    assert r.status_code == 409


async def test_strangers_get_404(client: httpx.AsyncClient, db: AsyncSession, alice: User) -> None:
    org = await make_org(db, alice)
    ws = await make_workspace(db, org)
    custom = await client.post(
        "/roles", json=_role(org), headers=bearer(await token_for(db, alice))
    )
    stranger = await make_user(db, "stranger")
    headers = bearer(await token_for(db, stranger))
    assert (await client.get(f"/roles/{custom.json()['id']}", headers=headers)).status_code == 404
    assert (await client.get(f"/organizations/{org.id}/roles", headers=headers)).status_code == 404
    r = await assign_via_api(client, WS_VIEWER, headers, user=stranger, workspace=ws)
    assert r.status_code == 404
    listed = await client.get(f"/roles/{WS_VIEWER}/assignments", headers=headers)
    assert listed.json() == []
    perms = await client.get(
        "/permissions", params={"workspace_id": str(ws.id), "resource": "stack"}, headers=headers
    )
    assert perms.status_code == 404


async def test_permissions_for_workspace_resources(
    client: httpx.AsyncClient, db: AsyncSession, alice: User
) -> None:
    org = await make_org(db, alice)
    ws = await make_workspace(db, org)
    _, headers = await holder_of(db, WS_VIEWER, org, workspace=ws, username="viewer")
    r = await client.get(
        "/permissions",
        params={"workspace_id": str(ws.id), "resource": ["stack"], "action": "create"},
        headers=headers,
    )
    assert r.json() == [
        {"resource": "stack", "action": "create", "allowed": False, "actions": None}
    ]
    r = await client.get(
        "/permissions", params={"workspace_id": str(ws.id), "resource": "stack"}, headers=headers
    )
    assert r.json()[0]["actions"] == ["read"]
