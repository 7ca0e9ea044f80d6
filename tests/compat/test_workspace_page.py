"""Must-show 2 of issue 17, with the real zenml 0.98.0: a Pro-mode ZenML server enrolled
in zenpro and told ``ZENML_SERVER_PRO_DASHBOARD_URL=<zenpro>/console``; bob (Workspace
Admin) logs in with the ``zenml`` CLI through zenpro and runs a two-step ``@pipeline`` with
the local orchestrator. Then, in headless Chromium, opening the workspace server's own
URL lands on zenpro's sign-in and, once signed in, on the workspace page: the pipeline,
its run ``completed``, its two steps in the SVG step graph. A Workspace Viewer (alice)
sees it; an Organization Viewer without a workspace role (carol) sees zenpro's facts but
the workspace refuses her (on the page, and at the workspace itself); an Organization
Member without one (dave) gets the 404 page. axe-core and screenshots on the new pages.
On both databases for zenpro (SQLite, PostgreSQL)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.compat.harness import USER_PASSWORD, World, zenml_world
from tests.console.browser_support import Served, audit, in_thread, new_page
from tests.fixtures import db as dbfix
from tests.fixtures.services import need
from tests.support.browser import UI_TIMEOUT_MS, find_chromium, launched
from zenpro.authz.vocabulary import ORG_MEMBER_ID

pytestmark = [pytest.mark.zenml, pytest.mark.browser]
expect.set_options(timeout=UI_TIMEOUT_MS)
ORG_VIEWER_ID = "00000000-0000-4000-8000-000000000003"
PIPELINE = """
from zenml import pipeline, step


@step
def make_number() -> int:
    return 41


@step
def add_one(x: int) -> int:
    return x + 1


@pipeline
def handoff_pipeline():
    add_one(make_number())


if __name__ == "__main__":
    handoff_pipeline()
"""


@dataclass
class Scene:
    world: World
    served: Served  # zenpro as the console browser helpers know it
    run_url: str  # the dashboard link the zenml client printed for the run


def _user(world: World, name: str, org_role: str) -> None:
    user = world.admin.call(
        "POST",
        "/users",
        json={"username": name, "password": USER_PASSWORD, "email": f"{name}@example.com"},
        expect=201,
    )
    world.admin.call(
        "POST",
        f"/roles/{org_role}/assignments",
        params={"user_id": user["id"], "organization_id": world.ws.org_id},
        expect=201,
    )


def _bob_runs_the_pipeline(world: World) -> str:
    bob = world.cli("bob")

    def approve(user_code: str) -> None:
        world.admin.approve_device("bob", USER_PASSWORD, user_code, world.ws.id)

    rc, out = bob.device_login(["--pro", "--pro-api-url", world.cp.url], approve)
    assert rc == 0, out
    assert "Connected to ZenML Pro server" in out, out
    rc, out = bob.run("project", "register", "demo", "--set")
    assert rc == 0, out
    rc, out = bob.script("run_pipeline.py", PIPELINE)
    assert rc == 0, out
    assert "Pipeline run has finished" in out, out
    found = re.search(r"(http://\S+/console/workspaces/ws1/projects/\S+/runs/[0-9a-f-]{36})", out)
    assert found, out
    return found.group(1)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def scene(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scene]:
    tmp = tmp_path_factory.mktemp(f"handoff-{request.param}")
    url = None
    if request.param == "postgres":
        need("postgres")
        url = in_thread(dbfix.fresh_postgres("_handoff_e2e"))
    with zenml_world(tmp, console=True, database_url=url) as world:
        _user(world, "carol", ORG_VIEWER_ID)
        _user(world, "dave", str(ORG_MEMBER_ID))
        run_url = _bob_runs_the_pipeline(world)
        db_url = url or f"sqlite+aiosqlite:///{world.cp.db_path}"
        yield Scene(world, Served(world.cp, db_url, f"handoff-{request.param}"), run_url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launched(find_chromium())


def _page(browser: Browser, scene: Scene) -> Page:
    """A console page (problems recorded, nothing off zenpro reachable) that may also
    reach the workspace server, whose address is where the visit starts."""
    pg = new_page(browser, scene.served)
    pg.route(f"{scene.world.ws_url}/**", lambda route: route.continue_())
    return pg


def _visit_workspace_url_and_sign_in(pg: Page, scene: Scene, username: str) -> None:
    """Open the workspace server's own URL: it sends the browser to zenpro, which asks
    for a sign-in and then shows the workspace page."""
    world = scene.world
    pg.goto(f"{world.ws_url}/")
    assert pg.url.startswith(f"{world.cp.url}/login?next="), pg.url
    pg.locator("#username").fill(username)
    pg.locator("#password").fill(USER_PASSWORD)
    pg.get_by_role("button", name="Sign in").click()
    pg.wait_for_url(f"{world.cp.url}/console/workspaces/ws1")


def test_viewer_goes_from_the_workspace_url_to_its_runs(browser: Browser, scene: Scene) -> None:
    pg = _page(browser, scene)
    try:
        started = time.monotonic()
        _visit_workspace_url_and_sign_in(pg, scene, "alice")
        holds = pg.locator("section[aria-labelledby=ws-holds]")
        expect(holds.get_by_role("rowheader", name="handoff_pipeline").first).to_be_visible()
        runs = pg.locator("section[aria-labelledby=ws-runs]")
        expect(runs.locator(".badge", has_text="completed")).to_have_count(1)
        expect(pg.locator("section[aria-labelledby=ws-stacks]")).to_contain_text("orchestrator")
        assert "eyJ" not in pg.content()  # no workspace JWT on the page
        audit(pg, scene.served, "workspace-holdings")
        runs.get_by_role("link").first.click()
        expect(pg.get_by_role("heading", name="Pipeline run")).to_be_visible()
        svg = pg.locator("svg.dag")
        expect(svg.locator("g.step")).to_have_count(2)
        expect(svg.locator("g.step.st-completed")).to_have_count(2)
        expect(svg).to_contain_text("make_number")
        expect(svg).to_contain_text("add_one")
        expect(svg.locator("path.edge")).to_have_count(1)
        steps = pg.locator("section[aria-labelledby=run-steps]")
        expect(steps.locator(".badge", has_text="completed")).to_have_count(2)
        audit(pg, scene.served, "workspace-run")
        # The link the zenml client printed opens the same page.
        pg.goto(scene.run_url)
        expect(pg.locator("svg.dag g.step")).to_have_count(2)
        # So does the stacks link ZenML builds (/stacks?id=), and a component.
        pg.goto(f"{scene.world.cp.url}/console/workspaces/ws1")
        pg.locator("section[aria-labelledby=ws-stacks]").get_by_role(
            "link", name="default"
        ).first.click()
        expect(pg.get_by_role("cell", name="orchestrator")).to_be_visible()
        audit(pg, scene.served, "workspace-stack")
        elapsed = time.monotonic() - started
        assert elapsed < 60, elapsed
    finally:
        pg.context.close()


def test_sign_in_entry_returns_to_the_workspace(browser: Browser, scene: Scene) -> None:
    """The workspace's authorization_url (no query parameters) brings a signed-in user
    back to the workspace last shown."""
    world = scene.world
    r = httpx.post(f"{world.ws_url}/api/v1/login", data={"grant_type": "zenml-external"})
    entry = r.json()["authorization_url"]
    assert entry == f"{world.cp.url}/console/api/auth/login"
    pg = _page(browser, scene)
    try:
        _visit_workspace_url_and_sign_in(pg, scene, "alice")
        pg.goto(entry)
        pg.wait_for_url(f"{world.cp.url}/console/workspaces/ws1")
        expect(pg.locator("section[aria-labelledby=ws-runs] .badge")).to_have_count(1)
    finally:
        pg.context.close()


def test_no_workspace_role_is_refused_on_the_page_and_by_the_workspace(
    browser: Browser, scene: Scene
) -> None:
    world = scene.world
    pg = _page(browser, scene)
    try:
        _visit_workspace_url_and_sign_in(pg, scene, "carol")
        alert = pg.locator("section[aria-labelledby=ws-holds] [role=alert]")
        expect(alert).to_contain_text("did not sign you in")
        expect(pg.get_by_text("handoff_pipeline")).to_have_count(0)
        audit(pg, scene.served, "workspace-refused")
    finally:
        pg.context.close()
    token = httpx.post(
        f"{world.cp.url}/auth/login", data={"username": "carol", "password": USER_PASSWORD}
    ).json()["access_token"]
    r = httpx.post(
        f"{world.ws_url}/api/v1/login",
        data={"grant_type": "zenml-external"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 401, r.text
    pg = _page(browser, scene)
    try:
        pg.goto(f"{world.ws_url}/")
        pg.locator("#username").fill("dave")
        pg.locator("#password").fill(USER_PASSWORD)
        pg.get_by_role("button", name="Sign in").click()
        expect(pg.get_by_role("heading", name="Not found")).to_be_visible()
    finally:
        pg.context.close()


def test_workspace_tokens_never_logged(scene: Scene) -> None:
    time.sleep(0.5)
    log = scene.world.cp.log_text()
    assert "eyJ" not in log  # a ZenML JWT starts so
    assert "zps_" not in log
