"""Meta-test: every route declares a guard (design.md: enforcement everywhere), and
documents what the guard answers."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from zenpro import routing
from zenpro.authz.guards import GUARD_MARK
from zenpro.errors import RAISES_MARK
from zenpro.main import create_app
from zenpro.organizations.deps import OrgRead
from zenpro.routing import DocumentedRoute


def _guards(dep: Dependant) -> list[Any]:
    found = [dep.call] if dep.call is not None and getattr(dep.call, GUARD_MARK, False) else []
    for sub in dep.dependencies:
        found.extend(_guards(sub))
    return found


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every API route, with included routers expanded (FastAPI keeps them lazy)."""
    return [
        ctx.original_route
        for ctx in iter_route_contexts(app.router.routes)
        if isinstance(ctx.original_route, APIRoute)
    ]


def test_every_route_has_a_guard() -> None:
    routes = api_routes(create_app())
    assert len(routes) > 80, "the walk must see the whole API, or this test proves nothing"
    missing = [f"{sorted(r.methods)} {r.path}" for r in routes if not _guards(r.dependant)]
    assert not missing, f"routes without a guard: {missing}"


def test_the_meta_test_can_fail() -> None:
    app = create_app()

    @app.get("/unguarded-probe")
    async def probe() -> dict[str, str]:
        return {}

    route = next(r for r in api_routes(app) if r.path == "/unguarded-probe")
    assert _guards(route.dependant) == []


def test_every_route_documents_what_its_guard_answers() -> None:
    """A guarded route lists its guard's errors itself (zenpro.routing): 401 where the
    caller must authenticate, 403, and 404 where the guard loads a path's object."""
    routes = api_routes(create_app())
    plain = [f"{sorted(r.methods)} {r.path}" for r in routes if not isinstance(r, DocumentedRoute)]
    assert not plain, f"routes not made by zenpro.routing.router(): {plain}"
    for route in routes:
        raised = {e.status_code for g in _guards(route.dependant) for e in _errors(g)}
        documented = {int(code) for code in route.responses}
        assert raised <= documented, (route.path, raised - documented)


def _errors(call: Any) -> tuple[Any, ...]:
    return tuple(getattr(call, RAISES_MARK, ()))


def _flat_path_params(dep: Dependant) -> list[Any]:
    return [*dep.path_params, *(p for d in dep.dependencies for p in _flat_path_params(d))]


def test_a_guarded_route_documents_401_403_404_without_saying_so() -> None:
    router = routing.router()

    @router.get("/probe/{organization_id}")
    async def probe(scoped: OrgRead) -> dict[str, str]:
        return {}

    (route,) = router.routes
    assert isinstance(route, APIRoute)
    assert {401, 403, 404} <= {int(code) for code in route.responses}
    params = [p.name for p in route.dependant.path_params] + [
        p.name for d in route.dependant.dependencies for p in _flat_path_params(d)
    ]
    assert "organization_id" in params  # declared by the guard, not by the route
