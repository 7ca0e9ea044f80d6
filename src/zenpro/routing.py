"""The route class every API router uses: a route documents the errors of its dependencies,
and is named by its handler.

A guard (or any dependency) says what it raises with :func:`zenpro.errors.raises`; a route
lists in its OpenAPI ``responses`` the errors of every dependency it has, directly or
through others (``get_access`` → ``get_user_principal`` → …), plus the ones its handler
names in ``responses=`` (what the service raises: 409, 402, …). So a guarded route's
401/403/404 are stated once, beside the code that answers them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from zenpro.errors import RAISES_MARK, ZenproError, error_responses


def _raised(dependant: Dependant) -> Iterator[type[ZenproError]]:
    for sub in dependant.dependencies:
        yield from getattr(sub.call, RAISES_MARK, ())
        yield from _raised(sub)


class DocumentedRoute(APIRoute):
    """An ``APIRoute`` whose ``responses`` include its dependencies' errors."""

    def __init__(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        derived = error_responses(*dict.fromkeys(_raised(self.dependant)))
        self.responses = {**derived, **self.responses}


def operation_id(route: APIRoute) -> str:
    """A route's OpenAPI ``operationId`` is its handler's name (stable: clients generate
    code from it, so renaming a handler is a change to the published contract)."""
    return route.name


def router(**kwargs: Any) -> APIRouter:
    """An ``APIRouter`` whose routes are :class:`DocumentedRoute` s, named by their
    handlers; ``response_model`` defaults to the handler's return annotation (FastAPI)."""
    return APIRouter(
        route_class=DocumentedRoute, generate_unique_id_function=operation_id, **kwargs
    )
