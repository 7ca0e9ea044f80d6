"""The route class every API router uses: a route documents the errors of its dependencies,
and is named by its handler.

A guard (or any dependency) says what it raises with :func:`zenpro.errors.raises`; a route
lists in its OpenAPI ``responses`` the errors of every dependency it has, directly or
through others (``get_access`` → ``get_user_principal`` → …), plus the ones its handler
names in ``responses=`` (what the service raises: 409, 402, …). So a guarded route's
401/403/404 are stated once, beside the code that answers them.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from zenpro.errors import RAISES_MARK, NotFound, ZenproError, error_responses, raises
from zenpro.kit import pagination

# kit is domain-free: every list's paging answers a cursor it did not give out with
# UnknownCursor, which the handlers render as a 404 (zenpro.handlers); said once, here.
raises(NotFound)(pagination.paging)


def _raised(dependant: Dependant) -> Iterator[type[ZenproError]]:
    for sub in dependant.dependencies:
        yield from getattr(sub.call, RAISES_MARK, ())
        yield from _raised(sub)


def _paragraphs(doc: str) -> list[str]:
    return [" ".join(line.strip() for line in p.splitlines()) for p in doc.split("\n\n")]


class DocumentedRoute(APIRoute):
    """An ``APIRoute`` whose ``responses`` include its dependencies' errors, and whose
    summary and description come from the handler's docstring of several paragraphs when
    the route does not give them: the first paragraph is the summary, the others the
    description (a paragraph's lines joined by spaces). A route without a description
    says ``summary=`` (FastAPI would show a one-paragraph docstring as the description)."""

    def __init__(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        doc = inspect.getdoc(endpoint)
        if doc and "\n\n" in doc and kwargs.get("description") is None:
            summary, *rest = _paragraphs(doc)
            kwargs["summary"] = kwargs.get("summary") or summary
            kwargs["description"] = "\n\n".join(rest)
        super().__init__(path, endpoint, **kwargs)
        derived = error_responses(*dict.fromkeys(_raised(self.dependant)))
        self.responses = {**derived, **self.responses}


def operation_id(route: APIRoute) -> str:
    """A route's OpenAPI ``operationId`` is its handler's name (stable: clients generate
    code from it, so renaming a handler is a change to the published contract)."""
    return route.name


def router(route_class: type[DocumentedRoute] = DocumentedRoute, **kwargs: Any) -> APIRouter:
    """An ``APIRouter`` whose routes are :class:`DocumentedRoute` s (or a subclass), named
    by their handlers; ``response_model`` defaults to the handler's return annotation."""
    return APIRouter(route_class=route_class, generate_unique_id_function=operation_id, **kwargs)
