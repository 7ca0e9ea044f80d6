"""The console in headless Chromium, on both databases: an organization admin creates an
organization, enrolls a workspace and copies its settings, makes a managed one, invites a
colleague; a Viewer sees no write controls, and the admin's form posts replayed with the
Viewer's session are refused with nothing changed. axe-core and screenshots on every page,
light and dark, and at 320 px."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.console.browser_support import PASSWORD, Served, audit, new_page, sign_in
from tests.support.browser import UI_TIMEOUT_MS

pytestmark = pytest.mark.browser
expect.set_options(timeout=UI_TIMEOUT_MS)
ORG_VIEWER = "00000000-0000-4000-8000-000000000003"


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

    pg.get_by_role("link", name="Members").click()
    pg.get_by_role("link", name="Invite someone").click()
    audit(pg, served, "invite")
    pg.get_by_label("Email").fill("colleague@example.com")
    pg.get_by_label("Organization role").select_option(label="Organization Member")
    pg.get_by_label("Workspace (optional)").select_option(label="managed-one")
    pg.get_by_label("Role in that workspace").select_option(label="Workspace Viewer")
    pg.get_by_role("button", name="Invite").click()
    expect(pg.get_by_role("status")).to_contain_text("Invitation created for colleague@example.com")
    link = pg.locator(".notice pre.secret").inner_text()
    assert re.fullmatch(
        rf"{re.escape(served.url)}/console/invitations/[0-9a-f-]{{36}}", link.strip()
    )
    expect(pg.get_by_role("row", name=re.compile("colleague@example.com"))).to_contain_text(
        "Organization Member"
    )
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
    return {"org": org_url, "ws": ws_url, "org_id": org_id, "invite": link.strip()}


def test_admin_flow_and_a_viewer_who_cannot_write(browser: Browser, served: Served) -> None:
    served.user("olga", "olga@example.com")
    served.user("cora", "colleague@example.com")
    vera_id = served.user("vera", "vera@example.com")
    admin = new_page(browser, served)
    # An organization named "taken" exists already (someone else's): the 409 case.
    assert served.api("POST", "/organizations", json={"name": "taken"}).status_code == 201
    urls = _admin_builds_an_organization(admin, served)

    # The colleague opens the link, signs in on the way, accepts: an Organization Member
    # with Workspace Viewer on managed-one.
    cora = new_page(browser, served)
    invite_path = urlsplit(urls["invite"]).path
    cora.goto(invite_path)
    cora.locator("#username").fill("cora")
    cora.locator("#password").fill(PASSWORD)
    cora.get_by_role("button", name="Sign in").click()
    cora.wait_for_url(f"**{invite_path}")
    expect(cora.get_by_text("Workspace Viewer")).to_be_visible()
    audit(cora, served, "invitation")
    cora.get_by_role("button", name="Accept the invitation").click()
    expect(cora.get_by_role("status")).to_contain_text("welcome to the organization")
    assert _post_forms(cora) == ["/console/logout"]
    expect(cora.get_by_role("link", name="Members")).to_have_count(
        0
    )  # an Organization Member reads no members
    expect(cora.get_by_role("link", name="Settings")).to_have_count(0)
    expect(cora.get_by_role("link", name="New workspace")).to_have_count(0)
    # The workspace role came with the invitation: that workspace, and only it, is listed.
    expect(cora.get_by_role("link", name="managed-one")).to_be_visible()
    expect(cora.get_by_role("link", name="ext-one")).to_have_count(0)

    # The admin makes a team and puts the colleague in it.
    admin.goto(f"{urls['org']}/teams")
    admin.get_by_label("Team name (required)").fill("Platform")
    admin.get_by_role("button", name="Create team").click()
    expect(admin.get_by_role("status")).to_contain_text("Team created")
    admin.get_by_label("Organization member").select_option(label="cora")
    admin.get_by_role("button", name="Add to team").click()
    expect(admin.get_by_role("row", name=re.compile("cora"))).to_be_visible()
    team_url = admin.url.split("?")[0]
    audit(admin, served, "team")
    admin.goto(f"{urls['org']}/teams")
    audit(admin, served, "teams")

    # A service account with a key, rotated with a retention period.
    admin.goto(f"{urls['org']}/service_accounts")
    admin.get_by_label("Login name (required)").fill("ci-bot")
    admin.get_by_role("button", name="Create service account").click()
    expect(admin.get_by_role("status")).to_contain_text("Service account created")
    sa_url = admin.url.split("?")[0]
    admin.get_by_label("Key name (required)").fill("deploy")
    admin.get_by_role("button", name="Create key").click()
    first = admin.locator(".notice pre.secret").inner_text().strip()
    admin.get_by_label("Old key works for (minutes)").fill("10")
    admin.get_by_role("button", name="Rotate").click()
    expect(admin.get_by_role("status")).to_contain_text("works for 10 more minutes")
    assert admin.locator(".notice pre.secret").inner_text().strip() != first
    audit(admin, served, "service-account")
    admin.goto(f"{urls['org']}/service_accounts")
    audit(admin, served, "service-accounts")

    # The admin's forms on the pages they saw, to replay as the Viewer.
    replay: list[str] = []
    pages = (
        urls["org"],
        f"{urls['org']}/members",
        f"{urls['org']}/invitations/new",
        f"{urls['org']}/settings",
        urls["ws"],
        team_url,
        sa_url,
    )
    for path in pages:
        admin.goto(path)
        replay += [p for p in _post_forms(admin) if p != "/console/logout"]
    org_path, ws_path = urlsplit(urls["org"]).path, urlsplit(urls["ws"]).path
    expected = {
        f"{org_path}/settings",
        f"{org_path}/delete",
        f"{org_path}/invitations",
        f"{org_path}/members/remove",  # the colleague, a member now
        f"{ws_path}/deactivate",
        f"{ws_path}/rotate_key",
        f"{ws_path}/delete",
        f"{urlsplit(team_url).path}/members/add",
        f"{urlsplit(team_url).path}/delete",
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
    for path in (urls["org"], f"{urls['org']}/members", urls["ws"], team_url, sa_url):
        viewer.goto(path)
        assert _post_forms(viewer) == ["/console/logout"], (path, _post_forms(viewer))
        expect(
            viewer.get_by_role("button", name=re.compile("Delete|Deactivate|Invite"))
        ).to_have_count(0)
    expect(viewer.get_by_role("link", name="Settings")).to_have_count(0)
    audit(viewer, served, "viewer-workspace")

    token = viewer.locator("form.signout input[name=csrf_token]").get_attribute("value")
    assert token
    before = served.snapshot()
    for path in replay:
        resp = viewer.request.post(
            path,
            form={"csrf_token": token, "force": "true", "name": "pwned"},
            headers={"Origin": served.url},
        )
        assert resp.status in (403, 404), (path, resp.status)
    assert served.snapshot() == before
    viewer.goto(f"{urls['org']}/settings")
    expect(viewer.get_by_role("heading", name="Not allowed")).to_be_visible()
    audit(viewer, served, "viewer-403")
