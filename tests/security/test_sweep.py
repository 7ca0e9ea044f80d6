"""Cross-tenant sweep (issue 8): every route with a path parameter, aimed at organization
B's real objects, by a stranger, by a member without the role, and anonymously.

Generated from the app's route table: a new route with a path parameter the sweep cannot
fill fails the test until it is taught the parameter (or listed in UNFILLABLE with a
reason). No call may change any table.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from tests.authz.test_route_guards import api_routes
from tests.security.world import World, build_world, snapshot

# Path parameter → which of B's objects fills it. Prefix-specific entries come first.
PARAMS: list[tuple[str, str, str]] = [
    ("/users/me/api_keys/", "key_id", "pat"),
    ("/service_accounts/", "key_id", "sa_key"),
    ("", "organization_id", "organization"),
    ("", "workspace_id", "workspace"),
    ("", "team_id", "team"),
    ("", "role_id", "role"),
    ("", "invitation_id", "invitation"),
    ("", "sa_id_or_username", "service_account"),
    ("", "user_id", "user"),
    ("", "session_id", "session"),
    ("", "device_id", "device"),
    ("", "feature", "pipeline"),
]
# Ids of objects inside a workspace's own ZenML server (the console's workspace pages read
# them from there; zenpro stores none): any well-formed id, the workspace's guard answers
# before the server would be asked.
IN_THE_WORKSPACE = {"project_id", "run_id", "component_id"}
SOME_ZENML_ID = "00000000-0000-4000-8000-000000000001"
# Parameters the sweep deliberately does not fill, with the reason.
UNFILLABLE: dict[str, str] = {
    "key": "a single sign-on provider's configured key (/auth/oidc/{key}/...), not an object "
    "of an organization: the sign-in pages are public and hold nothing of a tenant",
}

# Routes whose body or query the guard needs to look like a real attack.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/organizations/{organization_id}/invitations"): {"email": "x@evil.example"},
    ("POST", "/organizations/{organization_id}/service_accounts"): {"name": "evil-sa"},
    ("POST", "/organizations/{organization_id}/service_accounts/{sa_id_or_username}/api_keys"): {
        "name": "evil"
    },
    ("PATCH", "/users/{user_id}"): {"name": "pwned", "is_active": False},
}
QUERIES: dict[str, dict[str, str]] = {
    "/organizations/{organization_id}/members": {"user_id": "{user}"},
    "/teams/{team_id}/members": {"user_id": "{eve}"},
    "/roles/{role_id}/assignments": {"user_id": "{eve}", "workspace_id": "{workspace}"},
}
PATCH_BODY = {"description": "pwned"}

# Superuser-only routes answer 403 before looking at the object: it reveals nothing.
SUPERUSER_ONLY = {("PATCH", "/users/{user_id}"), ("DELETE", "/users/{user_id}")}
# What an Organization Member of B may read by contract (spec §6: read organization;
# users who share an organization are visible).
# Role definitions are readable by everyone in the organization (roles/service.py:
# visible_role), so members can see what their own roles grant; a role's assignments
# are filtered to organizations where the caller may read members. Lists answer 200
# filtered to what the member belongs to. The leak check below proves the filtering.
MEMBER_MAY = {
    ("GET", "/organizations/{organization_id}"),
    ("GET", "/users/{user_id}"),
    ("GET", "/organizations/{organization_id}/entitlement/{feature}"),
    ("GET", "/organizations/{organization_id}/workspaces"),
    ("GET", "/organizations/{organization_id}/tenants"),
    ("GET", "/organizations/{organization_id}/teams"),
    ("GET", "/organizations/{organization_id}/roles"),
    ("GET", "/roles/{role_id}"),
    ("GET", "/roles/{role_id}/assignments"),
    # The console's page of GET /organizations/{id}: the organization and the workspaces
    # the member may see (none here; the leak check below holds it to that).
    ("GET", "/console/organizations/{organization_id}"),
    # ... and of GET /organizations/{id}/teams (one's own teams), /roles and /roles/{id}.
    ("GET", "/console/organizations/{organization_id}/teams"),
    ("GET", "/console/organizations/{organization_id}/roles"),
    ("GET", "/console/organizations/{organization_id}/roles/{role_id}"),
}
# Objects of B a plain member must never see in any answer.
HIDDEN_FROM_MEMBER = (
    "workspace",
    "team",
    "invitation",
    "service_account",
    "sa_key",
    "pat",
    "session",
    "device",
)
STRANGER_MAY: set[tuple[str, str]] = set()


def _fill(path: str, ids: dict[str, str]) -> str:
    def value(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in IN_THE_WORKSPACE and path.startswith("/console/workspaces/"):
            return SOME_ZENML_ID
        for prefix, param, key in PARAMS:
            if param == name and prefix in path[: m.start() + 1]:
                return ids.get(key, key)
        raise LookupError(name)

    return re.sub(r"\{(\w+)\}", value, path)


def _calls(
    app: FastAPI, ids: dict[str, str]
) -> tuple[list[tuple[str, str, str, dict[str, Any]]], list[str]]:
    calls, unfilled = [], []
    for route in api_routes(app):
        if "{" not in route.path:
            continue
        for method in sorted(route.methods):
            try:
                url = _fill(route.path, ids)
            except LookupError as exc:
                if str(exc.args[0]) not in UNFILLABLE:
                    unfilled.append(f"{method} {route.path}: {{{exc.args[0]}}}")
                continue
            kwargs: dict[str, Any] = {}
            query = QUERIES.get(route.path)
            if query:
                kwargs["params"] = {k: v.format(**ids) for k, v in query.items()}
            if method in ("POST", "PATCH", "PUT") and _takes_body(route):
                kwargs["json"] = BODIES.get(
                    (method, route.path), PATCH_BODY if method == "PATCH" else {}
                )
            calls.append((method, route.path, url, kwargs))
    return calls, unfilled


def _takes_body(route: APIRoute) -> bool:
    return route.body_field is not None


async def _sweep(
    app: FastAPI,
    client: httpx.AsyncClient,
    world: World,
    who: str | None,
    hidden: tuple[str, ...] = (),
) -> list[tuple[str, str, int]]:
    calls, unfilled = _calls(app, world.ids)
    assert not unfilled, f"the sweep cannot fill these path parameters: {unfilled}"
    assert len(calls) > 50, "the sweep must see the whole API"
    headers = world.headers[who] if who else {}
    out = []
    for method, template, url, kwargs in calls:
        r = await client.request(method, url, headers=headers, **kwargs)
        assert r.status_code < 500, f"{method} {url}: {r.status_code} {r.text}"
        leaked = [k for k in hidden if r.is_success and world.ids[k] in r.text]
        assert not leaked, f"{method} {url} shows {leaked} to {who}: {r.text}"
        out.append((method, template, r.status_code))
    return out


def _unexpected(results: list[tuple[str, str, int]], allowed: Any) -> list[str]:
    return [f"{m} {t} → {s}" for m, t, s in results if s not in allowed(m, t)]


async def _refused_everywhere(
    app: FastAPI,
    client: httpx.AsyncClient,
    db: AsyncSession,
    who: str | None,
    allowed: Callable[[str, str], set[int]],
    changed: str,
    hidden: tuple[str, ...] = (),
) -> None:
    """``who`` calls every route of the world: each answer is in ``allowed(method, path)``
    and nothing changes (else fail with ``changed``)."""
    world = await build_world(client, db)
    before = await snapshot(db)
    results = await _sweep(app, client, world, who, hidden)
    assert await snapshot(db) == before, changed
    bad = _unexpected(results, allowed)
    assert not bad, bad


async def test_stranger_gets_404_everywhere(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    def allowed(m: str, t: str) -> set[int]:
        if (m, t) in SUPERUSER_ONLY:
            return {403, 404}
        return {404}

    await _refused_everywhere(app, client, db, "eve", allowed, "a stranger's calls changed data")


async def test_member_without_role_gets_403_or_404(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    def allowed(m: str, t: str) -> set[int]:
        return {200, 403, 404} if (m, t) in MEMBER_MAY else {403, 404}

    changed = "a member's refused calls changed data"
    await _refused_everywhere(app, client, db, "mia", allowed, changed, HIDDEN_FROM_MEMBER)


async def test_anonymous_gets_401_everywhere(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    changed = "anonymous calls changed data"
    await _refused_everywhere(app, client, db, None, lambda m, t: {401}, changed)


def test_an_unknown_path_parameter_fails_the_sweep() -> None:
    app = FastAPI()

    @app.get("/widgets/{widget_id}")
    async def probe(widget_id: str) -> dict[str, str]:
        return {}

    calls, unfilled = _calls(app, {})
    assert calls == []
    assert unfilled == ["GET /widgets/{widget_id}: {widget_id}"]


async def test_the_snapshot_sees_a_change(client: httpx.AsyncClient, db: AsyncSession) -> None:
    world = await build_world(client, db)
    before = await snapshot(db)
    r = await client.patch(
        f"/teams/{world.ids['team']}", json={"description": "changed"}, headers=world.headers["bob"]
    )
    assert r.status_code == 200
    after = await snapshot(db)
    assert [t for t in before if before[t] != after[t]] == ["teams"]
