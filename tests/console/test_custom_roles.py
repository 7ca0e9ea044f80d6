"""Custom roles in the matrix editor (create, edit, delete with the 409 explained), and
role assignments at organization, workspace and project level for users, service
accounts and teams (assign, revoke); a Viewer sees no controls, and their forged posts
are refused with nothing changed."""

from __future__ import annotations

import re
import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.console.support import (
    Person,
    assert_invalid,
    assert_posts_refused,
    assert_read_only,
    assert_says,
    make_viewer,
    person,
    read_one,
    text_of,
)
from tests.console.test_pages import _made, _org_and_workspace, ann
from tests.fixtures.authz import assign
from tests.security.world import snapshot
from zenpro.authz.vocabulary import ORG_ADMIN_ID, SYSTEM_ROLE_BY_NAME
from zenpro.models import Role, RoleAssignment, RolePermission

__all__ = ["ann"]  # the fixture
ORG_MANAGER_ID = SYSTEM_ROLE_BY_NAME["Organization Manager"].id
DEPLOYER = {
    "level": "workspace",
    "name": "Deployer",
    "description": "Runs pipelines",
    "p.pipeline.read": "on",
    "p.pipeline_run.create": "on",
    "p.pipeline_run.read": "on",
}


async def _role(ann: Person, base: str, data: dict[str, str]) -> str:
    r = await ann.post(f"{base}/roles", data)
    assert r.status_code == 303, text_of(r.text)
    assert r.headers["location"].endswith("?notice=created")
    return str(r.headers["location"].split("?")[0])


async def _pairs(db: AsyncSession, role_id: str) -> set[tuple[str, str]]:
    stmt = select(RolePermission).where(RolePermission.role_id == uuid.UUID(role_id))
    found = {(p.resource_type, p.action) for p in (await db.scalars(stmt)).all()}
    await db.commit()
    return found


async def test_admin_creates_edits_and_deletes_a_custom_role(ann: Person, db: AsyncSession) -> None:
    org_id, base, _ = await _org_and_workspace(ann, "ws-roles")
    listing = await ann.get(f"{base}/roles")
    assert f'href="{base}/roles/new"' in listing.text
    editor = await ann.get(f"{base}/roles/new", level="workspace")
    assert editor.status_code == 200
    assert 'aria-label="pipeline run: create"' in editor.text
    assert 'name="p.billing.read"' not in editor.text  # only the level's vocabulary
    bad = await ann.post(f"{base}/roles", {**DEPLOYER, "name": " "})
    assert_invalid(bad)
    assert 'name="p.pipeline_run.create" value="on" aria-label="pipeline run: create" checked' in (
        bad.text
    )  # the ticks are kept
    role_path = await _role(ann, base, DEPLOYER)
    role_id = role_path.rsplit("/", 1)[1]
    assert await _pairs(db, role_id) == {
        ("pipeline", "read"),
        ("pipeline_run", "create"),
        ("pipeline_run", "read"),
    }
    taken = await ann.post(f"{base}/roles", {**DEPLOYER, "name": "workspace viewer"})
    assert_says(taken, 409, "already exists")
    assert 'value="workspace viewer"' in taken.text
    # An unknown box is no permission; the level's boxes are the API's vocabulary.
    odd = await ann.post(f"{base}/roles", {**DEPLOYER, "name": "Odd", "p.billing.read": "on"})
    assert odd.status_code == 303
    page = await ann.get(role_path)
    assert "Save role" in page.text
    assert "Delete role" in page.text
    saved = await ann.post(
        f"{role_path}/settings",
        {"name": "Deployer", "description": "", "p.pipeline_run.delete": "on"},
    )
    assert saved.status_code == 303
    assert await _pairs(db, role_id) == {("pipeline_run", "delete")}
    emptied = await ann.post(f"{role_path}/settings", {"name": ""})
    assert_invalid(emptied)
    gone = await ann.post(f"{role_path}/delete")
    assert gone.status_code == 303
    assert await read_one(db, select(Role).where(Role.id == uuid.UUID(role_id))) is None
    system = re.search(r'href="([^"]+/roles/[^"]+)"[^>]*>Organization Admin<', listing.text)
    assert system
    refused = await ann.post(f"{system.group(1)}/settings", {"name": "Mine"})
    assert_says(refused, 403, "System roles are read-only")
    assert org_id


async def test_a_custom_role_assigned_to_a_team_and_revoked(
    ann: Person, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    _org_id, base, ws_path = await _org_and_workspace(ann, "ws-team")
    ws = await ann.get(ws_path)
    ws_id = re.search(r"/console/workspaces/([0-9a-f-]{36})", ws_path) or re.search(
        r'data-workspace-id="([0-9a-f-]{36})"', ws.text
    )
    assert ws_id
    role_path = await _role(ann, base, DEPLOYER)
    role_id = role_path.rsplit("/", 1)[1]
    team_path = await _made(ann, f"{base}/teams", {"name": "Platform"})
    team_id = team_path.rsplit("/", 1)[1]
    team = await ann.get(team_path)
    assert f'href="{team_path}/roles"' in team.text
    team_roles = await ann.get(f"{team_path}/roles")
    assert "No role assigned here yet." in team_roles.text
    form = await ann.get(f"{base}/assignments/new", subject=f"team:{team_id}")
    assert form.status_code == 200
    assert "Workspace · Deployer" in text_of(form.text)
    # A workspace role needs a workspace: the service's 409 in place, the choice kept.
    no_ws = await ann.post(
        f"{base}/assignments", {"subject": f"team:{team_id}", "role_id": role_id, "back": ""}
    )
    assert_says(no_ws, 409, "a workspace-level role needs workspace_id")
    assert "selected" in no_ws.text
    bad_project = await ann.post(
        f"{base}/assignments",
        {"subject": f"team:{team_id}", "role_id": role_id, "project_id": "nope"},
    )
    assert_invalid(bad_project)
    done = await ann.post(
        f"{base}/assignments",
        {
            "subject": f"team:{team_id}",
            "role_id": role_id,
            "workspace_id": ws_id.group(1),
            "back": f"team:{team_id}",
        },
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"{team_path}/roles?notice=assigned"
    shown = text_of((await ann.get(f"{team_path}/roles")).text)
    assert "Deployer Workspace Workspace ws-team Revoke" in shown
    held = text_of((await ann.get(role_path)).text)
    assert "Team Platform" in held
    again = await ann.post(
        f"{base}/assignments",
        {"subject": f"team:{team_id}", "role_id": role_id, "workspace_id": ws_id.group(1)},
    )
    assert_says(again, 409, "already exists")
    # Deleting an assigned role: the 409 explained, then with its assignments.
    in_use = await ann.post(f"{role_path}/delete")
    assert_says(in_use, 409, "is assigned 1 time(s)")
    assert "Also remove its assignments" in in_use.text
    stmt = select(RoleAssignment).where(RoleAssignment.team_id == uuid.UUID(team_id))
    assignment = await read_one(db, stmt)
    assert assignment is not None
    revoked = await ann.post(
        f"{base}/assignments/revoke",
        {"assignment_id": str(assignment.id), "back": f"team:{team_id}"},
    )
    assert revoked.status_code == 303
    assert await read_one(db, stmt) is None
    forced = await ann.post(f"{role_path}/delete", {"force": "true"})
    assert forced.status_code == 303


async def test_member_roles_change_and_the_owner_keeps_admin(
    ann: Person, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org_id, base, _ = await _org_and_workspace(ann, "ws-member")
    bob = await person(client, db, "bob")
    await make_viewer(db, org_id, bob)
    members = await ann.get(f"{base}/members")
    assert f'href="{base}/members/{bob.user.id}"' in members.text
    page = await ann.get(f"{base}/members/{bob.user.id}")
    assert "Organization Viewer Organization The organization Revoke" in text_of(page.text)
    listing = await ann.get(f"{base}/roles")
    manager = re.search(r'href="[^"]+/roles/([^"]+)"[^>]*>Organization Manager<', listing.text)
    assert manager
    assigned = await ann.post(
        f"{base}/assignments",
        {"subject": f"user:{bob.user.id}", "role_id": manager.group(1)},
    )
    assert assigned.headers["location"] == f"{base}/members/{bob.user.id}?notice=assigned"
    both = text_of((await ann.get(f"{base}/members/{bob.user.id}")).text)
    assert "Organization Manager" in both
    assert "Organization Viewer" in both
    # The owner keeps Organization Admin: the service's 409.
    stmt = select(RoleAssignment).where(
        RoleAssignment.user_id == ann.user.id, RoleAssignment.role_id == ORG_ADMIN_ID
    )
    owner_admin = await read_one(db, stmt)
    refused = await ann.post(f"{base}/assignments/revoke", {"assignment_id": str(owner_admin.id)})
    assert_says(refused, 409, "owner keeps Organization Admin")
    stranger = await ann.get(f"{base}/members/{uuid.uuid4()}")
    assert stranger.status_code == 404


async def test_a_viewer_sees_no_role_controls_and_forged_posts_change_nothing(
    ann: Person, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org_id, base, _ = await _org_and_workspace(ann, "ws-viewer")
    role_path = await _role(ann, base, DEPLOYER)
    role_id = role_path.rsplit("/", 1)[1]
    team_path = await _made(ann, f"{base}/teams", {"name": "Crew"})
    team_id = team_path.rsplit("/", 1)[1]
    vic = await person(client, db, "vic")
    await make_viewer(db, org_id, vic)
    stmt = select(RoleAssignment).where(RoleAssignment.user_id == ann.user.id)
    admin_assignment = await read_one(db, stmt)
    for path in (role_path, f"{base}/roles", f"{base}/members/{ann.user.id}"):
        shown = await vic.get(path)
        assert_read_only(shown)
        assert "Assign a role" not in shown.text
        assert "New role" not in shown.text
    assert (await vic.get(f"{base}/roles/new")).status_code == 403
    await assert_posts_refused(
        db,
        vic,
        [
            (f"{base}/roles", DEPLOYER),
            (f"{role_path}/settings", {"name": "pwned"}),
            (f"{role_path}/delete", {"force": "true"}),
            (f"{base}/assignments", {"subject": f"team:{team_id}", "role_id": role_id}),
            (f"{base}/assignments", {"subject": f"user:{vic.user.id}", "role_id": role_id}),
            (f"{base}/assignments/revoke", {"assignment_id": str(admin_assignment.id)}),
        ],
        refusals=(403, 409),
    )
    outsider = await person(client, db, "eve")
    await assert_posts_refused(
        db,
        outsider,
        [(f"{role_path}/delete", {"force": "true"}), (f"{base}/assignments", {})],
        refusals=(404,),
    )


async def test_an_edit_refused_midway_is_shown_with_nothing_changed(
    ann: Person, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """A Manager may edit roles but not add what they do not hold (billing): the service's
    403 in place, after it had begun to apply the edit, and the role as it was."""
    org_id, base, _ = await _org_and_workspace(ann, "ws-midway")
    role_path = await _role(
        ann, base, {"level": "organization", "name": "Helper", "p.team.read": "on"}
    )
    role_id = role_path.rsplit("/", 1)[1]
    bob = await person(client, db, "bob")
    org = await make_viewer(db, org_id, bob)
    await assign(db, ORG_MANAGER_ID, org, user=bob.user)
    page = await bob.get(role_path)
    assert 'name="p.billing.read" value="on" aria-label="billing: read" disabled' in page.text
    before = await snapshot(db)
    refused = await bob.post(
        f"{role_path}/settings", {"name": "Helper 2", "p.team.read": "on", "p.billing.read": "on"}
    )
    assert_says(refused, 403, "nobody may give a permission they do not hold")
    assert 'value="Helper 2"' in refused.text  # the input kept
    assert await snapshot(db) == before
    assert await _pairs(db, role_id) == {("team", "read")}


async def test_a_service_account_gets_a_workspace_role_and_loses_it(
    ann: Person, db: AsyncSession
) -> None:
    _, base, ws_path = await _org_and_workspace(ann, "ws-bot")
    ws_id = ws_path.rsplit("/", 1)[1]
    made = await ann.post(f"{base}/service_accounts", {"name": "deploy-bot"})
    sa_path = made.headers["location"].split("?")[0]
    sa_page = await ann.get(sa_path)
    link = re.search(r'href="([^"]+/members/([0-9a-f-]{36}))"[^>]*>Its roles<', sa_page.text)
    assert link
    sa_id = link.group(2)
    listing = await ann.get(f"{base}/roles")
    viewer = re.search(r'href="[^"]+/roles/([^"]+)"[^>]*>Workspace Viewer<', listing.text)
    assert viewer
    form = await ann.get(f"{base}/assignments/new", subject=f"user:{sa_id}")
    assert "deploy-bot (service account)" in form.text
    done = await ann.post(
        f"{base}/assignments",
        {
            "subject": f"user:{sa_id}",
            "role_id": viewer.group(1),
            "workspace_id": ws_id,
            "back": f"user:{sa_id}",
        },
    )
    assert done.headers["location"] == f"{link.group(1)}?notice=assigned"
    page = await ann.get(link.group(1))
    assert "Workspace Viewer Workspace Workspace ws-bot Revoke" in text_of(page.text)
    assert "A service account." in page.text
    stmt = select(RoleAssignment).where(
        RoleAssignment.user_id == uuid.UUID(sa_id), RoleAssignment.workspace_id.isnot(None)
    )
    held = await read_one(db, stmt)
    gone = await ann.post(
        f"{base}/assignments/revoke", {"assignment_id": str(held.id), "back": f"user:{sa_id}"}
    )
    assert gone.status_code == 303
    assert await read_one(db, stmt) is None
