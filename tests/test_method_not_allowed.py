"""405 answers list every method of the path (RFC 9110 §15.5.6), on every route.

The expectation is derived here from the route table on its own terms: the methods
declared for a path are those of every route with that template, parameter names aside
(they should also name them alike, so that the OpenAPI document lists each path once:
``tests/test_openapi_contract.py``). A fixed path is its own resource:
``/users/authorize_server`` has GET only, whatever ``/users/{user_id}`` beside it accepts.
``Allow`` lists exactly the methods the path serves: HEAD where the route serves it
(Starlette routes such as ``/openapi.json`` add it for GET; FastAPI's API routes do not,
and answer HEAD with 405).
"""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")
PARAM = re.compile(r"\{[^}]+\}")


def declared(app: FastAPI) -> dict[str, set[str]]:
    """Template (parameters as ``{}``) → the methods its routes declare."""
    found: dict[str, set[str]] = {}
    for ctx in iter_route_contexts(app.router.routes):
        if isinstance(ctx.original_route, Mount):
            continue
        found.setdefault(PARAM.sub("{}", str(ctx.path)), set()).update(ctx.methods or ())
    return found


def concrete(template: str) -> str:
    # A fresh UUID never equals a fixed path segment, so each template gets its own path.
    return template.replace("{}", str(uuid.uuid4()))


def allow(response: httpx.Response) -> set[str]:
    return {m.strip() for m in response.headers.get("allow", "").split(",") if m.strip()}


@pytest.mark.parametrize("base", ["", "/api/v1"], ids=["root", "api-v1"])
async def test_every_path_answers_405_with_all_its_methods(
    app: FastAPI, client: httpx.AsyncClient, base: str
) -> None:
    table = declared(app)
    assert len(table) > 60, "the walk must see the whole API, or it proves nothing"
    wrong: list[str] = []
    cases = 0
    for template, methods in sorted(table.items()):
        path = base + concrete(template)
        for method in METHODS:
            if method in methods:
                continue
            cases += 1
            r = await client.request(method, path)
            if r.status_code != 405 or allow(r) != methods:
                wrong.append(f"{method} {template}: {r.status_code} Allow={allow(r)} != {methods}")
            elif method != "HEAD":
                assert r.json() == {"detail": "Method Not Allowed"}
                assert r.headers["x-content-type-options"] == "nosniff"
    assert cases > 300
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("OPTIONS", "/login", {"GET", "POST"}),
        ("PUT", "/workspaces/ws1", {"GET", "PATCH", "DELETE"}),
        ("PUT", "/organizations/acme", {"GET", "PATCH", "DELETE"}),
        # Fixed paths beside a {param} route: 405, not the param route's 422.
        ("PATCH", "/users/authorize_server", {"GET"}),
        ("DELETE", "/users/authorize_server", {"GET"}),
        ("DELETE", "/users/me", {"GET", "PATCH"}),
        ("PATCH", "/api/v1/users/authorize_server", {"GET"}),
        # A mounted app (the docs assets) answers for itself.
        ("POST", "/docs-assets/swagger-ui.css", {"GET", "HEAD"}),
    ],
)
async def test_known_cases(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    method: str,
    path: str,
    expected: set[str],
) -> None:
    r = await client.request(method, path, headers=admin_headers)
    assert r.status_code == 405, r.text
    assert allow(r) == expected


async def test_a_fixed_path_still_serves_its_own_methods(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    r = await client.get("/users/me", headers=admin_headers)
    assert r.status_code == 200
    other = await client.get(f"/users/{r.json()['id']}", headers=admin_headers)
    assert other.status_code == 200
    assert (await client.get("/openapi.json")).status_code == 200
    assert (await client.head("/openapi.json")).status_code == 200


def test_fixed_paths_are_matched_before_the_param_routes_beside_them(app: FastAPI) -> None:
    """For the methods a fixed path has, routing (first match wins) must reach its own
    route, not an earlier ``{param}`` route whose pattern also matches it."""
    routes = [
        (PARAM.sub("{}", str(ctx.path)), ctx.path_regex, ctx.methods or set())
        for ctx in iter_route_contexts(app.router.routes)
        if not isinstance(ctx.original_route, Mount)
    ]
    fixed = [(i, t, m) for i, (t, _, m) in enumerate(routes) if "{" not in t]
    shadowed = 0
    for i, template, methods in fixed:
        for j, (other, regex, other_methods) in enumerate(routes):
            if other != template and regex.match(template) and methods & other_methods:
                shadowed += 1
                assert i < j, f"{template} {methods} comes after {other} {other_methods}"
    assert shadowed, "the app has fixed paths beside param routes (/users/me): see them"
