"""The console's pages over ASGI on both databases: the skeleton (``/``, sign-in, CSP,
CSRF), organizations, workspaces and members, and a Viewer whose replayed admin posts are
refused with nothing changed."""

from __future__ import annotations

import html
import re
import uuid

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.console.support import (
    HTML,
    Person,
    assert_invalid,
    assert_posts_refused,
    assert_says,
    forms_of,
    make_viewer,
    person,
    read_one,
    text_of,
)
from tests.security.world import snapshot
from zenpro.authz.vocabulary import ORG_ADMIN_ID
from zenpro.console import csrf
from zenpro.models import Invitation, Organization, RoleAssignment, Workspace


@pytest.fixture
async def ann(client: httpx.AsyncClient, db: AsyncSession) -> Person:
    return await person(client, db, "ann")


async def _org(ann: Person, name: str = "Acme Labs") -> str:
    r = await ann.post("/console/organizations", {"name": name, "description": "R&D <team>"})
    assert r.status_code == 303, text_of(r.text)
    found = re.search(
        r"/console/organizations/([0-9a-f-]{36})\?notice=created", r.headers["location"]
    )
    assert found, r.headers["location"]
    return found.group(1)


async def _org_pages(ann: Person, name: str = "Acme Labs") -> tuple[str, str]:
    """A new organization of ``ann``'s: its id, and the path of its console pages."""
    org_id = await _org(ann, name)
    return org_id, f"/console/organizations/{org_id}"


async def _made(ann: Person, path: str, data: dict[str, str]) -> str:
    """What a create form at ``path`` made: the path it redirects to, without its notice."""
    made = await ann.post(path, data)
    return str(made.headers["location"].split("?")[0])


async def _org_and_workspace(ann: Person, ws_name: str) -> tuple[str, str, str]:
    """A new organization of ``ann``'s with one workspace: its id, the organization's
    path and the workspace's."""
    org_id, base = await _org_pages(ann)
    return org_id, base, await _made(ann, f"{base}/workspaces", {"name": ws_name})


async def _sent_to(client: httpx.AsyncClient, path: str, location: str) -> None:
    """A browser asking for ``path`` is redirected (303) to ``location``."""
    browser = await client.get(path, headers=HTML)
    assert browser.status_code == 303
    assert browser.headers["location"] == location


async def test_root_sends_browsers_to_the_console_and_keeps_its_404(
    client: httpx.AsyncClient,
) -> None:
    await _sent_to(client, "/", "/console")
    api = await client.get("/")
    assert api.status_code == 404
    assert api.json() == {"detail": "Not Found"}


async def test_not_signed_in_goes_through_login_and_api_clients_get_401(
    client: httpx.AsyncClient,
) -> None:
    login = "/login?next=%2Fconsole%2Forganizations%2Fnew%3Fx%3D1"
    await _sent_to(client, "/console/organizations/new?x=1", login)
    api = await client.get("/console")
    assert api.status_code == 401
    assert "text/html" in api.headers["content-type"]


async def test_pages_have_a_strict_csp_no_script_and_our_own_stylesheet(ann: Person) -> None:
    org_id = await _org(ann)
    for path in ("/console", f"/console/organizations/{org_id}", "/console/organizations/new"):
        r = await ann.get(path)
        assert r.status_code == 200, path
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp  # our one file, no inline script
        assert "default-src 'none'" in csp
        assert "style-src 'self'" in csp
        assert re.findall(r"<script[^>]*>", r.text) == [
            '<script src="/console/static/console.js" defer>'
        ], path
        assert "unsafe-inline" not in csp
        assert " style=" not in r.text, path
        assert '<link rel="stylesheet" href="/console/static/console.css">' in r.text
        assert r.headers["cache-control"] == "no-store"
        assert re.search(r"<title>[^<]+ · zenpro console</title>", r.text)
        assert 'aria-label="Breadcrumb"' in r.text
    js = await ann.client.get("/console/static/console.js")
    assert js.headers["content-type"].startswith("text/javascript")
    assert "data-local" in js.text
    css = await ann.client.get("/console/static/console.css")
    assert css.status_code == 200
    assert "prefers-color-scheme: dark" in css.text


async def test_create_organization_owner_is_admin_and_text_is_escaped(
    ann: Person, db: AsyncSession
) -> None:
    org_id = await _org(ann)
    r = await ann.get(f"/console/organizations/{org_id}", notice="created")
    assert "You are its owner and Organization Admin" in r.text
    assert "R&amp;D &lt;team&gt;" in r.text
    assert "<team>" not in r.text
    admin = await read_one(
        db,
        select(RoleAssignment).where(
            RoleAssignment.user_id == ann.user.id, RoleAssignment.role_id == ORG_ADMIN_ID
        ),
    )
    assert admin is not None
    assert str(admin.organization_id) == org_id
    home = await ann.get("/console")
    assert "Acme Labs" in home.text


async def test_errors_are_shown_in_place_and_the_form_keeps_its_input(ann: Person) -> None:
    await _org(ann, "Taken Name")
    dup = await ann.post("/console/organizations", {"name": "taken name", "display_name": "Kept"})
    assert_says(dup, 409, "An organization with that name already exists")
    assert 'value="taken name"' in dup.text
    assert 'value="Kept"' in dup.text
    bad = await ann.post("/console/organizations", {"name": ""})
    assert_invalid(bad)
    assert 'class="field-error"' in bad.text


async def test_a_form_without_this_sessions_token_changes_nothing(
    ann: Person, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    other = await person(client, db, "other")
    before = await snapshot(db)
    for token in ("", "0" * 64, csrf.token_for(other.cookie)):
        r = await ann.post("/console/organizations", {"name": "Sneaky"}, token=token)
        assert r.status_code == 403, token
        assert "This form has expired" in text_of(r.text)
    client.cookies.clear()
    client.cookies.set("zenpro_session", ann.cookie)
    cross = await client.post(
        "/console/organizations",
        data={"name": "Sneaky", "csrf_token": csrf.token_for(ann.cookie)},
        headers={**HTML, "Origin": "http://evil.example"},
    )
    assert cross.status_code == 403
    assert await snapshot(db) == before


async def test_settings_and_delete_with_the_409_explained(ann: Person, db: AsyncSession) -> None:
    org_id, base = await _org_pages(ann)
    saved = await ann.post(f"{base}/settings", {"name": "Acme Labs", "display_name": "ACME"})
    assert saved.status_code == 200
    assert "Settings saved." in saved.text
    ws = await ann.post(f"{base}/workspaces", {"name": "ws-live", "kind": "managed"})
    assert ws.status_code == 303
    refused = await ann.post(f"{base}/delete")
    assert refused.status_code == 409
    words = text_of(refused.text)
    assert "still has workspaces" in words
    assert "Also delete its workspaces" in words
    assert await read_one(db, select(Organization.id).where(Organization.id == uuid.UUID(org_id)))
    gone = await ann.post(f"{base}/delete", {"force": "true"})
    assert gone.status_code == 303
    assert gone.headers["location"] == "/console?notice=deleted"
    db.expire_all()
    assert (await ann.get(base)).status_code == 404


async def test_enroll_shows_the_key_and_settings_once(ann: Person, db: AsyncSession) -> None:
    org_id = await _org(ann)
    r = await ann.post(
        f"/console/organizations/{org_id}/workspaces", {"name": "ext-1", "kind": "external"}
    )
    assert r.status_code == 200
    key = re.search(r"ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET=(\S+)", r.text)
    assert key, text_of(r.text)
    ws = await read_one(db, select(Workspace).where(Workspace.name == "ext-1"))
    assert ws is not None
    assert ws.is_managed is False
    for line in (
        "ZENML_SERVER_PRO_API_URL=http://testserver",
        f"ZENML_SERVER_PRO_ORGANIZATION_ID={org_id}",
        "ZENML_SERVER_PRO_ORGANIZATION_NAME='Acme Labs'",  # quoted for the shell
        f"ZENML_SERVER_PRO_WORKSPACE_ID={ws.id}",
        "ZENML_SERVER_PRO_WORKSPACE_NAME=ext-1",
        "ZENML_SERVER_PRO_OAUTH2_AUDIENCE=zenml-workspaces",
    ):
        assert line in html.unescape(r.text)  # as the browser shows (and copies) it
    # The key works for the workspace server's login (the API's client_credentials).
    login = await ann.client.post(
        "/auth/login",
        data={
            "grant_type": "client_credentials",
            "client_id": str(ws.id),
            "client_secret": key.group(1),
        },
    )
    assert login.status_code == 200, login.text
    page = await ann.get(f"/console/workspaces/{ws.id}")
    assert key.group(1) not in page.text
    assert "Enrolled" in page.text
    rotated = await ann.post(f"/console/workspaces/{ws.id}/rotate_key")
    new = re.search(r"ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET=(\S+)", rotated.text)
    assert new
    assert new.group(1) != key.group(1)


async def test_deactivate_reactivate_delete_a_workspace(ann: Person, db: AsyncSession) -> None:
    org_id = await _org(ann)
    r = await ann.post(f"/console/organizations/{org_id}/workspaces", {"name": "ws-a"})
    assert r.status_code == 303
    path = r.headers["location"].split("?")[0]
    ws_id = path.rsplit("/", 1)[1]
    listing = text_of((await ann.get(f"/console/organizations/{org_id}")).text)
    assert "ws-a Pending" in listing
    off = await ann.post(f"{path}/deactivate")
    assert off.status_code == 303
    page = await ann.get(path)
    assert "Reactivate" in page.text
    assert f"{path}/deactivate" not in page.text
    assert (await ann.post(f"{path}/reactivate")).status_code == 303
    column = select(Workspace.desired_state, Workspace.status).where(
        Workspace.id == uuid.UUID(ws_id)
    )
    assert (await read_one(db, column.with_only_columns(Workspace.desired_state))) == "available"
    gone = await ann.post(f"{path}/delete")
    assert gone.status_code == 303
    assert (await read_one(db, column.with_only_columns(Workspace.status))) == "deleted"
    again = await ann.post(f"{path}/delete")
    assert_says(again, 409, "is deleted")


async def test_members_invite_revoke_and_remove(
    ann: Person, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org_id, base = await _org_pages(ann)
    invited = await ann.post(f"{base}/invitations", {"email": "colleague@example.com"})
    assert invited.status_code == 200, text_of(invited.text)
    assert re.search(r"http://testserver/console/invitations/[0-9a-f-]{36}", invited.text)
    words = text_of(invited.text)
    assert "colleague@example.com (pending" in words
    again = await ann.post(f"{base}/invitations", {"email": "colleague@example.com"})
    assert_says(again, 409, "already has a pending invitation")
    assert 'value="colleague@example.com"' in again.text
    inv = await read_one(db, select(Invitation).where(Invitation.email == "colleague@example.com"))
    assert inv is not None
    # The link to pass on stays on the members page: the invitation's page in a browser
    # (not the API's JSON /invitations/{id}), and it opens as a page.
    listed = await ann.get(f"{base}/members")
    link = f"http://testserver/console/invitations/{inv.id}"
    assert f'<code class="invite-link">{link}</code>' in listed.text
    opened = await ann.get(link.removeprefix("http://testserver"))
    assert opened.status_code == 404  # a page (not JSON), for the invited address only
    assert opened.headers["content-type"].startswith("text/html")
    assert (await ann.post(f"{base}/invitations/{inv.id}/delete")).status_code == 303
    assert await read_one(db, select(Invitation).where(Invitation.id == inv.id)) is None

    bo = await person(client, db, "bo")
    await make_viewer(db, org_id, bo)
    page = await ann.get(f"{base}/members")
    assert bo.user.username in page.text
    assert "Organization Viewer" in page.text
    assert f"Remove {ann.user.username}" not in page.text  # the owner has no Remove button
    owner = await ann.post(f"{base}/members/remove", {"user_id": str(ann.user.id)})
    assert_says(owner, 409, "owner cannot be removed")
    assert (
        await ann.post(f"{base}/members/remove", {"user_id": str(bo.user.id)})
    ).status_code == 303
    assert (await bo.get(base)).status_code == 404


async def test_a_viewer_sees_no_write_controls_and_replayed_posts_change_nothing(
    ann: Person, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org_id, base, ws_path = await _org_and_workspace(ann, "ws-v")
    await ann.post(f"{base}/invitations", {"email": "x@example.com"})
    inv = await read_one(db, select(Invitation).where(Invitation.email == "x@example.com"))
    assert inv is not None
    viewer = await person(client, db, "vic")
    await make_viewer(db, org_id, viewer)

    for path in (base, f"{base}/members", ws_path):
        r = await viewer.get(path)
        assert r.status_code == 200, path
        assert forms_of(r.text) == ["/console/logout"], (path, forms_of(r.text))
        assert "New workspace" not in r.text
        assert "Invite" not in r.text
    for path in (f"{base}/settings", f"{base}/workspaces/new", f"{base}/invitations/new"):
        assert (await viewer.get(path)).status_code == 403, path

    admin_posts = {
        f"{base}/settings": {"name": "Pwned"},
        f"{base}/delete": {"force": "true"},
        f"{base}/workspaces": {"name": "ws-evil"},
        f"{base}/invitations": {"email": "evil@example.com"},
        f"{base}/members/remove": {"user_id": str(ann.user.id)},
        f"{base}/invitations/{inv.id}/delete": {},
        f"{ws_path}/deactivate": {},
        f"{ws_path}/reactivate": {},
        f"{ws_path}/rotate_key": {},
        f"{ws_path}/delete": {},
    }
    await assert_posts_refused(db, viewer, admin_posts.items(), (403, 404))


async def test_a_stranger_gets_404_on_every_page(
    ann: Person, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org_id = await _org(ann)
    ws_path = await _made(ann, f"/console/organizations/{org_id}/workspaces", {"name": "ws-s"})
    eve = await person(client, db, "eve")
    for path in (
        f"/console/organizations/{org_id}",
        f"/console/organizations/{org_id}/settings",
        f"/console/organizations/{org_id}/members",
        f"/console/organizations/{org_id}/workspaces/new",
        f"/console/organizations/{org_id}/invitations/new",
        ws_path,
    ):
        r = await eve.get(path)
        assert r.status_code == 404, path
        assert "does not exist, or you may not see it" in text_of(r.text)
        assert "Acme" not in r.text


async def test_the_invited_colleague_accepts_and_nobody_else_can(
    ann: Person, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org_id = await _org(ann)
    colleague = await person(client, db, "cole")
    email = str(colleague.user.email)
    viewer_role = "00000000-0000-4000-8000-000000000003"
    invited = await ann.post(
        f"/console/organizations/{org_id}/invitations", {"email": email, "role_id": viewer_role}
    )
    assert invited.status_code == 200, text_of(invited.text)
    found = re.search(r"http://testserver(/console/invitations/[0-9a-f-]{36})", invited.text)
    assert found
    link = found.group(1)
    eve = await person(client, db, "eve")
    assert (await eve.get(link)).status_code == 404
    before = await snapshot(db)
    assert (await eve.post(f"{link}/accept")).status_code == 404
    assert await snapshot(db) == before
    shown = await colleague.get(link)
    assert_says(shown, 200, "Organization Viewer")
    accepted = await colleague.post(f"{link}/accept", token=await colleague.csrf(link))
    assert accepted.status_code == 303
    assert accepted.headers["location"] == f"/console/organizations/{org_id}?notice=joined"
    home = await colleague.get(f"/console/organizations/{org_id}", notice="joined")
    assert "welcome to the organization" in home.text
    assert "Members" in home.text  # a Viewer reads members
    assert "Settings" not in home.text
    again = await colleague.post(f"{link}/accept")
    assert_says(again, 409, "already been accepted")


async def test_an_invitation_carries_a_workspace_role_and_a_team_all_or_nothing(
    ann: Person, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    _, base, ws_path = await _org_and_workspace(ann, "ws-inv")
    ws_id = ws_path.rsplit("/", 1)[1]
    team_path = await _made(ann, f"{base}/teams", {"name": "Crew"})
    team_id = team_path.rsplit("/", 1)[1]
    form = await ann.get(f"{base}/invitations/new")
    assert form.status_code == 200
    ws_viewer = re.search(r'<option value="([0-9a-f-]{36})">Workspace Viewer</option>', form.text)
    assert ws_viewer
    colleague = await person(client, db, "col")
    email, name = str(colleague.user.email), colleague.user.username  # before any expiry
    before = await snapshot(db)
    half = await ann.post(f"{base}/invitations", {"email": email, "workspace_id": ws_id})
    assert_says(half, 400, "Choose both a workspace and a role")
    assert await snapshot(db) == before
    other = await person(client, db, "oth")
    foreign_team = (
        await other.post(
            f"/console/organizations/{await _org(other, 'Else')}/teams", {"name": "Theirs"}
        )
    ).headers["location"]
    before = await snapshot(db)
    foreign = await ann.post(
        f"{base}/invitations",
        {"email": email, "team_id": foreign_team.split("?")[0].rsplit("/", 1)[1]},
    )
    assert foreign.status_code == 404
    assert await snapshot(db) == before  # the invitation was not created either
    full = await ann.post(
        f"{base}/invitations",
        {
            "email": email,
            "workspace_id": ws_id,
            "workspace_role_id": ws_viewer.group(1),
            "team_id": team_id,
        },
    )
    assert full.status_code == 200, text_of(full.text)
    link = re.search(r"http://testserver(/console/invitations/[0-9a-f-]{36})", full.text)
    assert link
    shown = text_of((await colleague.get(link.group(1))).text)
    assert "Workspace Viewer" in shown
    assert "Crew" in shown
    assert (
        await colleague.post(f"{link.group(1)}/accept", token=await colleague.csrf(link.group(1)))
    ).status_code == 303
    assert (await colleague.get(ws_path)).status_code == 200  # the workspace role
    assert name in text_of((await ann.get(team_path)).text)
