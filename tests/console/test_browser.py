"""The console in headless Chromium, on both databases (issue 16's Must show 1): an
organization admin creates an organization, enrolls a workspace and copies its settings,
makes a managed one, invites a colleague with a workspace role and a team; the colleague (a
second browser) accepts and sees exactly what that role allows; the admin creates a custom
role in the matrix editor, assigns it to the team, rotates a service-account key (the old
one works for the retention, then stops) and finds every step in the audit trail. A Viewer
sees no write controls, and the admin's form posts replayed with the Viewer's session are
refused with nothing changed. axe-core and screenshots on every page, light and dark, and
at 320 px."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.console.browser_support import PASSWORD, Served, audit, new_page, sign_in
from tests.support.browser import UI_TIMEOUT_MS

pytestmark = pytest.mark.browser
expect.set_options(timeout=UI_TIMEOUT_MS)
ORG_VIEWER = "00000000-0000-4000-8000-000000000003"
RETAIN_MINUTES = 1  # the shortest retention the API takes; the test waits it out
# Every step of the flow, as the audit trail names its objects.
AUDITED = (
    "organizations",
    "workspaces",
    "teams",
    "invitations",
    "team_members",
    "roles",
    "role_assignments",
    "api_keys",
)


def _post_forms(pg: Page) -> list[str]:
    return pg.eval_on_selector_all(
        "form[method=post]", "fs => fs.map(f => new URL(f.action).pathname)"
    )


def _admin_builds_an_organization(pg: Page, served: Served) -> dict[str, str]:
    sign_in(pg, "olga")
    expect(pg.get_by_text("You belong to no organization yet")).to_be_visible()
    audit(pg, served, "home-empty")
    pg.get_by_role("link", name="My account").click()
    pg.get_by_label("Name (required)").fill("laptop")
    pg.get_by_role("button", name="Create token").click()
    expect(pg.get_by_role("status")).to_contain_text("Token laptop created")
    audit(pg, served, "account")
    pg.get_by_role("link", name="Console", exact=True).click()
    pg.get_by_role("link", name="Create an organization").click()
    audit(pg, served, "organization-new")
    pg.get_by_label("Name (required)").fill(
        "taken"
    )  # a name the admin made earlier: the 409 in place
    pg.get_by_label("Display name").fill("Kept input")
    pg.get_by_role("button", name="Create organization").click()
    expect(pg.get_by_role("alert")).to_contain_text("already exists")
    expect(pg.get_by_label("Display name")).to_have_value("Kept input")
    audit(pg, served, "organization-new-error")
    pg.get_by_label("Name (required)").fill("Acme Labs")
    pg.get_by_label("Display name").fill("")  # the page names it by its name, then
    pg.get_by_label("Description").fill("Where the pipelines live")
    pg.get_by_role("button", name="Create organization").click()
    expect(pg.get_by_role("status")).to_contain_text("Organization Admin")
    org_url = pg.url.split("?")[0]
    org_id = org_url.rsplit("/", 1)[1]

    pg.get_by_role("link", name="New workspace").click()
    audit(pg, served, "workspace-new")
    pg.get_by_label("Name (required)").fill("ext-one")
    pg.get_by_label("Enrolled: a ZenML server you run").check()
    pg.get_by_role("button", name="Create workspace").click()
    expect(pg.get_by_role("heading", name="Workspace enrolled")).to_be_visible()
    settings = pg.locator("pre.secret").nth(1).inner_text()
    assert "ZENML_SERVER_PRO_WORKSPACE_NAME=ext-one" in settings
    assert f"ZENML_SERVER_PRO_ORGANIZATION_ID={org_id}" in settings
    key = pg.locator("pre.secret").first.inner_text().strip()
    assert f"ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET={key}" in settings
    audit(pg, served, "workspace-key")
    pg.get_by_role("link", name="Go to the workspace").click()
    expect(pg.get_by_text("Enrolled (runs elsewhere)")).to_be_visible()
    # The enhancement ran under the strict CSP: times shown in the browser's zone.
    expect(pg.locator("time[data-local]").first).to_be_attached()
    assert key not in pg.content()  # shown once
    ws_url = pg.url.split("?")[0]
    audit(pg, served, "workspace")

    pg.goto(f"{org_url}/workspaces/new")
    pg.get_by_label("Name (required)").fill("managed-one")
    pg.get_by_role("button", name="Create workspace").click()
    expect(pg.get_by_role("status")).to_contain_text("Workspace created")
    pg.get_by_role("link", name="Acme Labs").click()
    row = pg.get_by_role("row", name=re.compile("managed-one"))
    for _ in range(60):  # the reconciler provisions it (simulated) within seconds
        if "Available" in row.inner_text():
            break
        pg.wait_for_timeout(500)
        pg.reload()
    expect(row).to_contain_text("Available")
    audit(pg, served, "organization")

    managed_href = pg.get_by_role("link", name="managed-one").get_attribute("href")
    assert managed_href
    pg.goto(f"{org_url}/teams")
    pg.get_by_label("Team name (required)").fill("Platform")
    pg.get_by_role("button", name="Create team").click()
    expect(pg.get_by_role("status")).to_contain_text("Team created")
    team_url = pg.url.split("?")[0]

    pg.goto(org_url)
    pg.get_by_role("link", name="Members").click()
    pg.get_by_role("link", name="Invite someone").click()
    audit(pg, served, "invite")
    pg.get_by_label("Email").fill("colleague@example.com")
    pg.get_by_label("Organization role").select_option(label="Organization Member")
    pg.get_by_label("Workspace (optional)").select_option(label="managed-one")
    pg.get_by_label("Role in that workspace").select_option(label="Workspace Viewer")
    pg.get_by_label("Team (optional)").select_option(label="Platform")
    pg.get_by_role("button", name="Invite").click()
    expect(pg.get_by_role("status")).to_contain_text("Invitation created for colleague@example.com")
    link = pg.locator(".notice pre.secret").inner_text()
    assert re.fullmatch(
        rf"{re.escape(served.url)}/console/invitations/[0-9a-f-]{{36}}", link.strip()
    )
    expect(pg.get_by_role("row", name=re.compile("colleague@example.com"))).to_contain_text(
        "Organization Member"
    )
    expect(pg.locator("code.invite-link")).to_have_text(link.strip())  # still there to copy
    audit(pg, served, "members")
    pg.get_by_role("link", name="Roles").click()
    audit(pg, served, "roles")
    pg.get_by_role("link", name="Workspace Admin").click()
    expect(pg.get_by_role("table", name="Permissions of Workspace Admin")).to_be_visible()
    audit(pg, served, "role")
    pg.get_by_role("link", name="Acme Labs").click()
    pg.get_by_role("link", name="Audit trail").click()
    expect(pg.get_by_role("link", name=re.compile(r"^workspaces ")).first).to_be_visible()
    audit(pg, served, "audit")
    pg.get_by_label("Action").select_option(label="Deleted")
    pg.get_by_role("button", name="Filter").click()
    expect(pg.get_by_text("No event matches these filters.")).to_be_visible()
    pg.get_by_role("link", name="Settings").click()
    pg.get_by_role("button", name="Delete organization").click()
    expect(pg.get_by_role("alert")).to_contain_text("still has workspaces")
    expect(pg.get_by_label("Also delete its workspaces")).to_be_visible()
    audit(pg, served, "settings-delete-409")
    return {
        "org": org_url,
        "ws": ws_url,
        "org_id": org_id,
        "invite": link.strip(),
        "team": team_url,
        "managed_id": managed_href.rstrip("/").rsplit("/", 1)[1],
    }


def _colleague_accepts(cora: Page, served: Served, urls: dict[str, str]) -> None:
    """The colleague opens the link, signs in on the way, sees the invitation on their
    account page too, accepts: an Organization Member with Workspace Viewer on managed-one
    and a place in the team Platform, and sees exactly what that allows."""
    invite_path = urlsplit(urls["invite"]).path
    cora.goto(invite_path)
    cora.locator("#username").fill("cora")
    cora.locator("#password").fill(PASSWORD)
    cora.get_by_role("button", name="Sign in").click()
    cora.wait_for_url(f"**{invite_path}")
    expect(cora.get_by_text("Workspace Viewer")).to_be_visible()
    expect(cora.get_by_text("Platform")).to_be_visible()
    audit(cora, served, "invitation")
    cora.get_by_role("link", name="My account").click()
    expect(cora.get_by_role("heading", name="Invitations for you")).to_be_visible()
    audit(cora, served, "account-invitations")
    cora.goto(invite_path)
    cora.get_by_role("button", name="Accept the invitation").click()
    expect(cora.get_by_role("status")).to_contain_text("welcome to the organization")
    assert _post_forms(cora) == ["/console/logout"]
    # An Organization Member reads no members, changes nothing in the organization.
    expect(cora.get_by_role("link", name="Members")).to_have_count(0)
    expect(cora.get_by_role("link", name="Settings")).to_have_count(0)
    expect(cora.get_by_role("link", name="New workspace")).to_have_count(0)
    # The workspace role came with the invitation: that workspace, and only it, is listed.
    expect(cora.get_by_role("link", name="managed-one")).to_be_visible()
    expect(cora.get_by_role("link", name="ext-one")).to_have_count(0)
    cora.get_by_role("link", name="managed-one").click()
    assert _post_forms(cora) == ["/console/logout"]  # a Viewer of it: nothing to change
    cora.goto(f"{urls['org']}/teams")  # the team came with it: hers, and only hers, listed
    expect(cora.get_by_role("link", name="Platform")).to_be_visible()
    assert _post_forms(cora) == ["/console/logout"]
    cora.goto(urls["ws"])
    expect(cora.get_by_role("heading", name="Not found")).to_be_visible()


def _custom_role_for_the_team(admin: Page, served: Served, urls: dict[str, str]) -> str:
    """The admin creates a workspace-level role in the matrix editor and assigns it to
    the team Platform on managed-one; returns the role's page."""
    admin.goto(f"{urls['org']}/roles")
    admin.get_by_role("link", name="New role").click()
    audit(admin, served, "role-new")
    admin.get_by_role("link", name=re.compile("^Workspace: ")).click()
    admin.get_by_label("Role name (required)").fill("Deployer")
    admin.get_by_label("What it is for").fill("Runs and reads pipelines")
    for box in ("pipeline: read", "pipeline run: create", "pipeline run: read"):
        admin.get_by_label(box, exact=True).check()
    audit(admin, served, "role-new-workspace")
    admin.get_by_role("button", name="Create role").click()
    expect(admin.get_by_role("status")).to_contain_text("Role created")
    expect(admin.get_by_label("pipeline run: create", exact=True)).to_be_checked()
    expect(admin.get_by_label("pipeline run: delete", exact=True)).not_to_be_checked()
    role_url = admin.url.split("?")[0]
    audit(admin, served, "role-custom")

    admin.goto(urls["team"])
    expect(admin.get_by_role("row", name=re.compile("cora"))).to_be_visible()  # by invitation
    admin.get_by_role("link", name="The team's roles").click()
    expect(admin.get_by_text("No role assigned here yet.")).to_be_visible()
    admin.get_by_role("link", name="Assign a role").click()
    expect(admin.get_by_label("Who", exact=True)).to_have_value(
        f"team:{urls['team'].rsplit('/', 1)[1]}"
    )
    admin.get_by_label("Role", exact=True).select_option(label="Workspace · Deployer")
    audit(admin, served, "assign")
    admin.get_by_role("button", name="Assign").click()  # no workspace: the 409 in place
    expect(admin.get_by_role("alert")).to_contain_text("needs workspace_id")
    expect(admin.get_by_label("Role", exact=True)).to_have_value(re.compile("[0-9a-f-]{36}"))
    admin.get_by_label("Workspace (workspace and project roles)").select_option(label="managed-one")
    admin.get_by_role("button", name="Assign").click()
    expect(admin.get_by_role("status")).to_contain_text("every member of the team holds it")
    expect(admin.get_by_role("row", name=re.compile("Deployer"))).to_contain_text(
        "Workspace managed-one"
    )
    audit(admin, served, "team-roles")
    admin.goto(role_url)
    expect(admin.get_by_role("row", name=re.compile("Deployer"))).to_contain_text("Team Platform")
    admin.goto(f"{urls['org']}/members")
    admin.get_by_role("link", name="cora").click()
    expect(admin.get_by_role("row", name=re.compile("Workspace Viewer"))).to_contain_text(
        "Workspace managed-one"
    )
    audit(admin, served, "member")
    return role_url


def _works(served: Served, org_id: str, secret: str) -> int:
    r = httpx.get(
        f"{served.url}/organizations/{org_id}",
        headers={"Authorization": f"Bearer {secret}"},
        timeout=30,
    )
    return r.status_code


def _rotated_key(admin: Page, served: Served, urls: dict[str, str]) -> tuple[str, str, str]:
    """A service account with a key, rotated with the shortest retention: both secrets
    work now. Returns the account's page and the old and new secrets."""
    admin.goto(f"{urls['org']}/service_accounts")
    admin.get_by_label("Login name (required)").fill("ci-bot")
    admin.get_by_role("button", name="Create service account").click()
    expect(admin.get_by_role("status")).to_contain_text("Service account created")
    sa_url = admin.url.split("?")[0]
    admin.get_by_label("Key name (required)").fill("deploy")
    admin.get_by_role("button", name="Create key").click()
    old = admin.locator(".notice pre.secret").inner_text().strip()
    assert _works(served, urls["org_id"], old) == 200
    admin.get_by_label("Old key works for (minutes)").fill(str(RETAIN_MINUTES))
    admin.get_by_role("button", name="Rotate").click()
    expect(admin.get_by_role("status")).to_contain_text(f"works for {RETAIN_MINUTES} more minutes")
    new = admin.locator(".notice pre.secret").inner_text().strip()
    assert new != old
    assert _works(served, urls["org_id"], old) == 200  # within the retention
    assert _works(served, urls["org_id"], new) == 200
    audit(admin, served, "service-account")
    admin.goto(f"{urls['org']}/service_accounts")
    audit(admin, served, "service-accounts")
    return sa_url, old, new


def _every_step_audited(admin: Page, served: Served, urls: dict[str, str]) -> None:
    """Each step of the flow is an event of the trail, found by its object type."""
    for rtype in AUDITED:
        admin.goto(f"{urls['org']}/audit?resource_type={rtype}")
        events = admin.get_by_role("table", name="Audit events, newest first")
        expect(events.get_by_role("row").nth(1), f"no {rtype} event").to_be_visible()
    admin.goto(f"{urls['org']}/audit?resource_type=api_keys&action=update")  # the rotation
    expect(admin.get_by_role("table", name="Audit events, newest first")).to_be_visible()
    expect(admin.get_by_role("img", name=re.compile("Activity per day"))).to_be_visible()
    audit(admin, served, "audit-rotation")


def _old_key_stops(served: Served, org_id: str, old: str, new: str, rotated: float) -> None:
    """Once the retention has passed the old secret is refused; the new one works."""
    time.sleep(max(0.0, rotated + RETAIN_MINUTES * 60 + 1 - time.monotonic()))
    assert _works(served, org_id, old) == 401
    assert _works(served, org_id, new) == 200


def test_admin_flow_and_a_viewer_who_cannot_write(browser: Browser, served: Served) -> None:
    served.user("olga", "olga@example.com")
    served.user("cora", "colleague@example.com")
    vera_id = served.user("vera", "vera@example.com")
    admin = new_page(browser, served)
    # An organization named "taken" exists already (someone else's): the 409 case.
    assert served.api("POST", "/organizations", json={"name": "taken"}).status_code == 201
    urls = _admin_builds_an_organization(admin, served)
    sa_url, old_secret, new_secret = _rotated_key(admin, served, urls)
    rotated = time.monotonic()  # the retention runs while the flow goes on
    _colleague_accepts(new_page(browser, served), served, urls)
    role_url = _custom_role_for_the_team(admin, served, urls)
    admin.goto(urls["team"])
    audit(admin, served, "team")
    admin.goto(f"{urls['org']}/teams")
    audit(admin, served, "teams")
    admin.goto(f"{urls['org']}/settings")
    admin.get_by_label("Logo address").fill(f"{served.url}/console/static/logo.svg")
    admin.get_by_role("button", name="Save settings").click()
    expect(admin.get_by_role("img", name="Logo of Acme Labs")).to_be_visible()
    audit(admin, served, "settings-logo")
    admin.goto(urls["org"])
    expect(admin.get_by_role("img", name=re.compile("Workspaces by status"))).to_be_visible()
    audit(admin, served, "organization-overview")
    _every_step_audited(admin, served, urls)
    team_roles = f"{urls['team']}/roles"
    admin.goto(f"{urls['org']}/members")
    admin.get_by_role("link", name="cora").click()
    member_url = admin.url.split("?")[0]

    # The admin's forms on the pages they saw, to replay as the Viewer.
    replay: list[str] = []
    pages = (
        urls["org"],
        f"{urls['org']}/members",
        f"{urls['org']}/invitations/new",
        f"{urls['org']}/settings",
        f"{urls['org']}/roles/new",
        f"{urls['org']}/assignments/new",
        urls["ws"],
        urls["team"],
        team_roles,
        role_url,
        member_url,
        sa_url,
    )
    for path in pages:
        admin.goto(path)
        replay += [p for p in _post_forms(admin) if p != "/console/logout"]
    org_path, ws_path = urlsplit(urls["org"]).path, urlsplit(urls["ws"]).path
    team_path, role_path = urlsplit(urls["team"]).path, urlsplit(role_url).path
    expected = {
        f"{org_path}/settings",
        f"{org_path}/delete",
        f"{org_path}/invitations",
        f"{org_path}/members/remove",  # the colleague, a member now
        f"{org_path}/roles",
        f"{org_path}/assignments",
        f"{org_path}/assignments/revoke",
        f"{role_path}/settings",
        f"{role_path}/delete",
        f"{ws_path}/deactivate",
        f"{ws_path}/rotate_key",
        f"{ws_path}/delete",
        f"{team_path}/members/add",
        f"{team_path}/delete",
        f"{urlsplit(sa_url).path}/api_keys/rotate",
        f"{urlsplit(sa_url).path}/deactivate",
    }
    assert expected <= set(replay), replay

    r = served.api(
        "POST",
        f"/roles/{ORG_VIEWER}/assignments",
        params={"user_id": vera_id, "organization_id": urls["org_id"]},
    )
    assert r.status_code in (200, 201), r.text
    viewer = new_page(browser, served)
    sign_in(viewer, "vera")
    with viewer.expect_navigation():
        viewer.get_by_role("link", name="Acme Labs").click()
    for path in (
        urls["org"],
        f"{urls['org']}/members",
        urls["ws"],
        urls["team"],
        team_roles,
        role_url,
        member_url,
        sa_url,
    ):
        viewer.goto(path)
        assert _post_forms(viewer) == ["/console/logout"], (path, _post_forms(viewer))
        expect(
            viewer.get_by_role("button", name=re.compile("Delete|Deactivate|Invite|Save|Revoke"))
        ).to_have_count(0)
        expect(viewer.get_by_role("link", name=re.compile("Assign a role|New role"))).to_have_count(
            0
        )
    expect(viewer.get_by_role("link", name="Settings")).to_have_count(0)
    audit(viewer, served, "viewer-role")
    viewer.goto(urls["ws"])
    audit(viewer, served, "viewer-workspace")

    token = viewer.locator("form.signout input[name=csrf_token]").get_attribute("value")
    assert token
    # What the admin's forms carried: the team, the custom role, the workspace.
    admin_fields = {
        "csrf_token": token,
        "force": "true",
        "name": "pwned",
        "level": "workspace",
        "p.pipeline.delete": "on",
        "subject": f"team:{team_path.rsplit('/', 1)[1]}",
        "role_id": role_path.rsplit("/", 1)[1],
        "workspace_id": urls["managed_id"],
    }
    before = served.snapshot()
    for path in replay:
        resp = viewer.request.post(path, form=admin_fields, headers={"Origin": served.url})
        assert resp.status in (403, 404), (path, resp.status)
    assert served.snapshot() == before
    viewer.goto(f"{urls['org']}/settings")
    expect(viewer.get_by_role("heading", name="Not allowed")).to_be_visible()
    audit(viewer, served, "viewer-403")
    _old_key_stops(served, urls["org_id"], old_secret, new_secret, rotated)
