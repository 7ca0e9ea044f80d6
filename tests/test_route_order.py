"""Route order: no fixed path is swallowed by a ``{param}`` route declared before it.

Starlette matches routes in declaration order (``zenpro.routes.ROUTERS``), so a route
``/users/{user_id}`` declared before ``/users/me`` would answer ``GET /users/me`` itself
(a 422 about a UUID). For every route with a fixed path, no earlier route with the same
method may match that path.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from zenpro import routing
from zenpro.main import create_app
from zenpro.routes import ROUTERS


def _swallowed(app: FastAPI) -> list[str]:
    seen: list[tuple[object, set[str], str]] = []
    found = []
    for ctx in iter_route_contexts(app.router.routes):
        if not isinstance(ctx.original_route, APIRoute) or ctx.path is None:
            continue
        path, methods = str(ctx.path), set(ctx.methods or ())
        if "{" not in path:
            for regex, earlier_methods, earlier in seen:
                if methods & earlier_methods and regex.match(path):  # type: ignore[attr-defined]
                    found.append(f"{sorted(methods & earlier_methods)} {path} goes to {earlier}")
        seen.append((ctx.path_regex, methods, path))
    return found


def test_no_fixed_path_is_swallowed_by_an_earlier_param_route() -> None:
    app = create_app()
    assert len(ROUTERS) > 10
    assert _swallowed(app) == []


def test_a_planted_misorder_is_found() -> None:
    early, late = routing.router(), routing.router()

    @early.get("/things/{thing_id}", summary="A thing")
    async def get_thing(thing_id: str) -> dict[str, str]:
        return {}

    @late.get("/things/mine", summary="My things")
    async def my_things() -> dict[str, str]:
        return {}

    app = FastAPI()
    app.include_router(early)
    app.include_router(late)
    assert _swallowed(app) == ["['GET'] /things/mine goes to /things/{thing_id}"]
