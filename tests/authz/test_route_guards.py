"""Meta-test: every route declares a guard (design.md: enforcement everywhere)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from zenpro.authz.guards import GUARD_MARK
from zenpro.main import create_app


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
