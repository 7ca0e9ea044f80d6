"""The workspace-server RBAC protocol ([wire]): shapes, strict parsing, scoping."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.authz import (
    assign,
    join,
    machine_token,
    make_org,
    make_team,
    make_workspace,
    share,
)
from tests.fixtures.factories import bearer, make_user
from tests.fixtures.roles import PROJECT_DEVELOPER as PROJECT_DEV
from tests.fixtures.roles import WS_ADMIN as ADMIN
from tests.fixtures.roles import WS_VIEWER as VIEWER
from zenpro.models import Organization, User, Workspace


async def _setup(
    db: AsyncSession, admin: User
) -> tuple[Organization, Workspace, User, dict[str, str]]:
    """``admin``'s organization and workspace, user bob, and the workspace's machine headers."""
    org = await make_org(db, admin)
    ws = await make_workspace(db, org)
    bob = await make_user(db, "bob")
    return org, ws, bob, bearer(await machine_token(db, ws))


async def _bob_holding(
    db: AsyncSession, admin: User, role_id: uuid.UUID
) -> tuple[User, dict[str, str]]:
    """As ``_setup``, with bob holding ``role_id`` on the workspace: bob, machine headers."""
    org, ws, bob, machine = await _setup(db, admin)
    await assign(db, role_id, org, user=bob, workspace=ws)
    return bob, machine


async def _check(
    client: httpx.AsyncClient, headers: dict[str, str], user: User, action: str, body: list[str]
) -> httpx.Response:
    return await client.post(
        "/rbac/check_permissions",
        params={"user_id": str(user.id), "action": action},
        json=body,
        headers=headers,
    )


async def _allowed(
    client: httpx.AsyncClient, headers: dict[str, str], user: User, action: str, resource: str
) -> httpx.Response:
    return await client.get(
        "/rbac/allowed_resource_ids",
        params={"user_id": str(user.id), "resource": resource, "action": action},
        headers=headers,
    )


async def test_viewer_reads_but_cannot_create(
    client: httpx.AsyncClient, db: AsyncSession, alice: User
) -> None:
    bob, machine = await _bob_holding(db, alice, VIEWER)
    sid = uuid.uuid4()
    r = await _check(client, machine, bob, "read", ["stack", f"stack/{sid}"])
    assert r.status_code == 200
    assert r.json() == {"stack": True, f"stack/{sid}": True}
    r = await _check(client, machine, bob, "create", ["stack"])
    assert r.json() == {"stack": False}


async def test_hundred_resources_answer_every_key(
    client: httpx.AsyncClient, db: AsyncSession, alice: User
) -> None:
    bob, machine = await _bob_holding(db, alice, ADMIN)
    pid = uuid.uuid4()
    body = [f"{pid}:pipeline/{uuid.uuid4()}" for _ in range(50)] + [
        f"stack/{uuid.uuid4()}" for _ in range(50)
    ]
    r = await _check(client, machine, bob, "delete", body)
    assert r.status_code == 200
    assert set(r.json()) == set(body)
    assert all(r.json().values())


async def test_duplicate_strings_still_answered(
    client: httpx.AsyncClient, db: AsyncSession, alice: User
) -> None:
    _, _, bob, machine = await _setup(db, alice)
    r = await _check(client, machine, bob, "read", ["stack", "stack"])
    assert r.json() == {"stack": False}


async def test_malformed_resource_is_422_naming_it(
    client: httpx.AsyncClient, db: AsyncSession, alice: User
) -> None:
    _, _, bob, machine = await _setup(db, alice)
    for bad in ["pipeline", "stack/not-a-uuid", f"{uuid.uuid4()}:stack", "nonsense", ""]:
        r = await _check(client, machine, bob, "read", ["stack", bad])
        assert r.status_code == 422, bad
        assert repr(bad) in str(r.json()["detail"]), r.json()
    r = await _check(client, machine, bob, "fly", ["stack"])
    assert r.status_code == 422


async def test_user_token_is_refused(
    client: httpx.AsyncClient, db: AsyncSession, alice: User, alice_headers: dict[str, str]
) -> None:
    _, _, bob, _ = await _setup(db, alice)
    r = await _check(client, alice_headers, bob, "read", ["stack"])
    assert r.status_code == 403
    anon = await _check(client, {}, bob, "read", ["stack"])
    assert anon.status_code == 401


async def test_grants_in_another_workspace_do_not_count(
    client: httpx.AsyncClient, db: AsyncSession, alice: User
) -> None:
    org, _ws, bob, machine = await _setup(db, alice)
    other = await make_workspace(db, org)
    await assign(db, ADMIN, org, user=bob, workspace=other)
    r = await _check(client, machine, bob, "read", ["stack"])
    assert r.json() == {"stack": False}
    ids = await _allowed(client, machine, bob, "read", "stack")
    assert ids.json() == {"full_access": False, "ids": []}


async def test_project_scope_and_shares(
    client: httpx.AsyncClient, db: AsyncSession, alice: User
) -> None:
    org, ws, bob, machine = await _setup(db, alice)
    p1, p2 = uuid.uuid4(), uuid.uuid4()
    await assign(db, PROJECT_DEV, org, user=bob, workspace=ws, project_id=p1)
    stack_id = uuid.uuid4()
    await share(db, ws, bob, "stack", stack_id, "read")
    body = [f"{p1}:pipeline", f"{p2}:pipeline", f"stack/{stack_id}", f"stack/{uuid.uuid4()}"]
    r = await _check(client, machine, bob, "read", body)
    assert r.json() == {body[0]: True, body[1]: False, body[2]: True, body[3]: False}
    ids = await _allowed(client, machine, bob, "read", "stack")
    assert ids.json() == {"full_access": False, "ids": [str(stack_id)]}
    full = await _allowed(client, machine, bob, "read", f"{p1}:pipeline")
    assert full.json() == {"full_access": True, "ids": []}


async def test_resource_members_sets_the_complete_action_set(
    client: httpx.AsyncClient, db: AsyncSession, alice: User
) -> None:
    org, ws, bob, machine = await _setup(db, alice)
    # Sharing needs a member to share with, and a sharer allowed what is shared.
    await join(db, org, bob)
    await assign(db, ADMIN, org, user=alice, workspace=ws)
    sid = uuid.uuid4()
    body: dict[str, object] = {
        "user_id": str(bob.id),
        "sharing_user_id": str(alice.id),
        "resource": f"stack/{sid}",
    }

    async def share_then_check(actions: list[str], action: str) -> object:
        body["actions"] = actions
        r = await client.post("/rbac/resource_members", json=body, headers=machine)
        assert r.status_code == 200
        assert r.json() == {}
        return (await _check(client, machine, bob, action, [f"stack/{sid}"])).json()

    assert await share_then_check(["read", "update"], "update") == {f"stack/{sid}": True}
    assert await share_then_check(["read"], "update") == {f"stack/{sid}": False}
    # unshare, then forget
    assert await share_then_check([], "read") == {f"stack/{sid}": False}


async def test_share_with_a_team_of_another_org_is_404(
    client: httpx.AsyncClient, db: AsyncSession, alice: User
) -> None:
    _, _, bob, machine = await _setup(db, alice)
    other_org = await make_org(db, bob)
    team = await make_team(db, other_org, bob)
    body = {"team_id": str(team.id), "resource": f"stack/{uuid.uuid4()}", "actions": ["read"]}
    r = await client.post("/rbac/resource_members", json=body, headers=machine)
    assert r.status_code == 404


async def test_delete_resources_forgets_shares(
    client: httpx.AsyncClient, db: AsyncSession, alice: User
) -> None:
    _, ws, bob, machine = await _setup(db, alice)
    sid = uuid.uuid4()
    await share(db, ws, bob, "stack", sid, "read")
    r = await client.delete(
        "/rbac/resources",
        params=[("resources", f"stack/{sid}"), ("resources", "stack")],
        headers=machine,
    )
    assert r.status_code == 200
    got = await _check(client, machine, bob, "read", [f"stack/{sid}"])
    assert got.json() == {f"stack/{sid}": False}


async def test_team_grants_count_and_removal_takes_effect(
    client: httpx.AsyncClient, db: AsyncSession, alice: User
) -> None:
    org, ws, bob, machine = await _setup(db, alice)
    team = await make_team(db, org, bob)
    await assign(db, VIEWER, org, team=team, workspace=ws)
    assert (await _check(client, machine, bob, "read", ["stack"])).json() == {"stack": True}
    from sqlalchemy import delete

    from zenpro.models import TeamMember

    await db.execute(delete(TeamMember).where(TeamMember.user_id == bob.id))
    await db.commit()
    assert (await _check(client, machine, bob, "read", ["stack"])).json() == {"stack": False}


async def test_warm_cache_still_rejects_bad_input(
    client: httpx.AsyncClient, db: AsyncSession, alice: User
) -> None:
    """Once the caches are warm, malformed requests still get the full route's 422."""
    bob, machine = await _bob_holding(db, alice, VIEWER)
    for _ in range(2):
        assert (await _check(client, machine, bob, "read", ["stack"])).json() == {"stack": True}
    assert (await _check(client, machine, bob, "read", ["stack/x"])).status_code == 422
    assert (await _check(client, machine, bob, "fly", ["stack"])).status_code == 422
    r = await client.post(
        "/rbac/check_permissions",
        params={"user_id": "nope", "action": "read"},
        json=["stack"],
        headers=machine,
    )
    assert r.status_code == 422
    r = await client.post(
        "/rbac/check_permissions",
        params={"user_id": str(bob.id), "action": "read"},
        content=b"{not json",
        headers={**machine, "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    ids = await _allowed(client, machine, bob, "read", "stack/" + str(uuid.uuid4()))
    assert ids.status_code == 422
