"""ZenML's own published tooling, unmodified in its calls: the IdP-sync script for ZenML Pro
(zenml repository, ``docs/book/getting-started/zenml-pro/scripts/sync_sso_users.py``).

This module is our own code. It replays the calls that script makes, with the payloads and
query-string forms it sends (``requests``, booleans as Python's ``str()``: ``True``), against
a real ``zenpro serve`` process, at the root and at the self-hosted base ``/api/v1``, on
SQLite and PostgreSQL. The script runs with a superuser's personal access token: it
deactivates leavers (``PATCH /users/{id}``), which is a server-wide act, and as a superuser
it may also give roles to people not yet in an organization.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.fixtures import db as dbfix
from tests.fixtures.services import need
from tests.reliability.servers import logged_in_server
from tests.support.processes import ZenproServer

ORG_ROLE_ADMIN = "Organization Admin"
ORG_ROLE_MEMBER = "Organization Member"
ORG_ROLE_VIEWER = "Organization Viewer"
PASSWORD = "tooling-user-password-1"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest) -> Iterator[ZenproServer]:
    url = None  # SQLite: a file of the server's own
    if request.param == "postgres":
        need("postgres")
        url = asyncio.run(dbfix.fresh_postgres("_tooling"))
    with logged_in_server(url) as srv:
        yield srv


@dataclass
class Script:
    """The script's ``ZenMLProClient``: the same calls, the same shapes."""

    api_url: str
    api_key: str
    token: str | None = None

    def headers(self) -> dict[str, str]:
        if self.token is None:
            r = requests.post(
                f"{self.api_url}/auth/login",
                data={"password": self.api_key},
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                timeout=30,
            )
            r.raise_for_status()
            self.token = r.json()["access_token"]
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}

    def get(self, path: str, **params: Any) -> Any:
        r = requests.get(f"{self.api_url}{path}", headers=self.headers(), params=params, timeout=30)
        r.raise_for_status()
        return r.json()

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        return requests.request(
            method, f"{self.api_url}{path}", headers=self.headers(), timeout=30, **kw
        )

    def user_by_email(self, email: str) -> dict[str, Any] | None:
        return next((u for u in self.get("/users", email=email) if u.get("email") == email), None)

    def org_by_name(self, name: str) -> dict[str, Any] | None:
        return next((o for o in self.get("/organizations") if o["name"] == name), None)

    def role(self, org_id: str, name: str) -> dict[str, Any]:
        roles = self.get(f"/organizations/{org_id}/roles", level="organization")
        return next(r for r in roles if r["name"] == name)

    def team(self, org_id: str, name: str) -> dict[str, Any]:
        return next(t for t in self.get(f"/organizations/{org_id}/teams") if t["name"] == name)

    def pending_invitation(self, org_id: str, email: str) -> dict[str, Any] | None:
        invs = self.get(f"/organizations/{org_id}/invitations", only_pending=True, email=email)
        return next((i for i in invs if i.get("email") == email), None)

    def assign(self, role_id: str, **subject: str) -> requests.Response:
        return self.call("POST", f"/roles/{role_id}/assignments", params=subject)

    def add_to_team(self, team_id: str, **subject: str) -> requests.Response:
        return self.call("POST", f"/teams/{team_id}/members", params=subject)


def _ok(r: requests.Response, *codes: int) -> Any:
    assert r.status_code in (codes or (200, 201)), f"{r.request.method} {r.url}: {r.text}"
    return r.json()


def _admin_pat(server: ZenproServer, base: str) -> str:
    r = requests.post(
        f"{server.url}{base}/users/me/api_keys",
        json={"name": f"idp-sync-{uuid.uuid4().hex[:6]}"},
        headers=server.headers(),
        timeout=30,
    )
    return str(_ok(r)["key"])


def _user(server: ZenproServer, email: str) -> dict[str, Any]:
    """Someone who signed in once (here: made by the administrator, email verified)."""
    body = {"username": email.split("@")[0], "password": PASSWORD, "email": email}
    r = requests.post(f"{server.url}/users", json=body, headers=server.headers(), timeout=30)
    return dict(_ok(r))


def _login(server: ZenproServer, base: str, username: str) -> dict[str, str]:
    r = requests.post(
        f"{server.url}{base}/auth/login",
        data={"username": username, "password": PASSWORD},
        timeout=30,
    )
    return {"Authorization": f"Bearer {_ok(r)['access_token']}"}


@pytest.mark.parametrize("base", ["", "/api/v1"], ids=["root", "api-v1"])
def test_the_idp_sync_script_runs_unchanged(server: ZenproServer, base: str) -> None:
    tag = uuid.uuid4().hex[:6]
    script = Script(f"{server.url}{base}", _admin_pat(server, base))
    # The organization and teams the script's mapping names (display names).
    prod = _ok(script.call("POST", "/organizations", json={"name": f"Production {tag}"}))
    for team in ("Data Science", "MLOps"):
        body = {"name": team, "organization_id": prod["id"]}
        _ok(script.call("POST", "/teams", json=body), 201)
    org = script.org_by_name(f"Production {tag}")
    assert org is not None
    assert org["id"] == prod["id"]
    admin_role = script.role(org["id"], ORG_ROLE_ADMIN)
    assert admin_role["organization_id"] == org["id"]

    # 1. An existing user (already an Organization Member) gets Admin and a team by id alone.
    existing = _user(server, f"existing-{tag}@example.com")
    inv = _ok(
        script.call(
            "POST",
            f"/organizations/{org['id']}/invitations",
            json={
                "email": existing["email"],
                "role_id": script.role(org["id"], ORG_ROLE_MEMBER)["id"],
            },
        ),
        201,
    )
    _ok(
        requests.post(
            f"{server.url}{base}/invitations/{inv['id']}/accept",
            headers=_login(server, base, existing["username"]),
            timeout=30,
        )
    )
    found = script.user_by_email(existing["email"])
    assert found is not None
    assert found["id"] == existing["id"]
    _ok(script.assign(admin_role["id"], user_id=found["id"]), 201)
    assert script.assign(admin_role["id"], user_id=found["id"]).status_code == 409
    _ok(script.add_to_team(script.team(org["id"], "Data Science")["id"], user_id=found["id"]))

    # 2. Someone who has not signed in yet: a placeholder invitation with an extra role and a team.
    email = f"newcomer-{tag}@example.com"
    assert script.user_by_email(email) is None
    assert script.pending_invitation(org["id"], email) is None
    member = script.role(org["id"], ORG_ROLE_MEMBER)
    placeholder = _ok(
        script.call(
            "POST",
            f"/organizations/{org['id']}/invitations",
            json={"email": email, "role_id": member["id"]},
        ),
        201,
    )
    viewer = script.role(org["id"], ORG_ROLE_VIEWER)
    _ok(script.assign(viewer["id"], invitation_id=placeholder["id"]), 201)
    _ok(script.add_to_team(script.team(org["id"], "MLOps")["id"], invitation_id=placeholder["id"]))
    again = script.pending_invitation(org["id"], email)
    assert again is not None
    assert again["id"] == placeholder["id"]

    # ... they register and accept: exactly those roles and teams are theirs.
    newcomer = _user(server, email)
    h = _login(server, base, newcomer["username"])
    accept = f"{server.url}{base}/invitations/{placeholder['id']}/accept"
    _ok(requests.post(accept, headers=h, timeout=30))
    members = script.get(f"/organizations/{org['id']}/members")
    theirs = next(m for m in members if m["id"] == newcomer["id"])
    assert sorted(r["name"] for r in theirs["roles"]) == [ORG_ROLE_MEMBER, ORG_ROLE_VIEWER]
    for name, expected in (("MLOps", True), ("Data Science", False)):
        team_members = script.get(f"/teams/{script.team(org['id'], name)['id']}/members")
        assert (newcomer["id"] in {m["user"]["id"] for m in team_members if m["user"]}) is expected

    # 3. A leaver: deactivated, and removed from the organization's roles.
    _ok(script.call("PATCH", f"/users/{found['id']}", json={"is_active": False}))
    _ok(
        script.call(
            "DELETE", f"/organizations/{org['id']}/members", params={"user_id": found["id"]}
        )
    )
    members = script.get(f"/organizations/{org['id']}/members")
    assert found["id"] not in {m["id"] for m in members}
    assert script.get(f"/users/{found['id']}")["is_active"] is False
