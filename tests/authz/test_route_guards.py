"""Meta-test: every route declares a guard (design.md: enforcement everywhere)."""

from __future__ import annotations

from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from zenpro.authz.guards import GUARD_MARK
from zenpro.main import create_app


def _guards(dep: Dependant) -> list[Any]:
    found = [dep.call] if dep.call is not None and getattr(dep.call, GUARD_MARK, False) else []
    for sub in dep.dependencies:
        found.extend(_guards(sub))
    return found


def test_every_route_has_a_guard() -> None:
    app = create_app()
    missing = [
        f"{sorted(route.methods)} {route.path}"
        for route in app.routes
        if isinstance(route, APIRoute) and not _guards(route.dependant)
    ]
    assert not missing, f"routes without a guard: {missing}"


def test_the_meta_test_can_fail() -> None:
    app = create_app()

    @app.get("/unguarded-probe")
    async def probe() -> dict[str, str]:
        return {}

    route = next(r for r in app.routes if isinstance(r, APIRoute) and r.path == "/unguarded-probe")
    assert _guards(route.dependant) == []
