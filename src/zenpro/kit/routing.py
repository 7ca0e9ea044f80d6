"""Which methods a path supports, for exact 405 answers (RFC 9110 §15.5.6).

Starlette matches routes one by one, so two things go wrong when several templates can
match one path:

- its 405 lists the methods of the first route whose path matched, not of the path:
  ``PUT /organizations/x`` answered ``Allow: GET`` although ``/organizations/{id}`` also
  has ``PATCH`` and ``DELETE`` (they are separate routes, some with another parameter name);
- a fixed path is swallowed by a parameter route for the methods it lacks:
  ``PATCH /users/authorize_server`` went to ``PATCH /users/{user_id}`` (a 422 about a UUID).

Here every route is grouped by its **shape** (its path regex with parameter names erased:
``/organizations/{id_or_name}`` and ``/organizations/{organization_id}`` are one resource),
and the shapes are ordered by specificity: at the first segment where two shapes differ, a
literal beats a parameter. A path belongs to the most specific shape that matches it; its
``Allow`` is the union of the methods of that shape's routes. :class:`MethodTable` answers
that; :class:`ShadowedPaths` refuses, before routing, a method that a fixed path lacks but
a less specific shape would accept; the app's 405 handler uses the table for ``Allow``.

The table is built on first use, when every router has been included.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from fastapi.routing import iter_route_contexts
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp, Receive, Scope, Send

_GROUP = re.compile(r"\(\?P<[^>]+>")
_PARAM = re.compile(r"\{[^}]*\}")
# A value for each kind of parameter when probing whether one shape covers another.
_SAMPLES = {"int": "1", "float": "1.0", "uuid": "00000000-0000-4000-8000-000000000000"}


@dataclass
class Shape:
    """All routes whose paths have one form; ``rank`` orders shapes, most specific first."""

    regex: re.Pattern[str]
    template: str
    rank: tuple[int, ...]
    methods: set[str] = field(default_factory=set)

    @property
    def fixed(self) -> bool:
        return "{" not in self.template

    def sample(self) -> str:
        """A concrete path of this shape (parameters filled with plain values)."""

        def fill(m: re.Match[str]) -> str:
            kind = m.group(0).strip("{}").partition(":")[2]
            return _SAMPLES.get(kind, "x")

        return _PARAM.sub(fill, self.template)


def _rank(template: str) -> tuple[int, ...]:
    """Per segment: 0 literal, 1 parameter, 2 a ``:path`` parameter (spans segments)."""
    return tuple(
        0 if "{" not in seg else 2 if ":path}" in seg else 1 for seg in template.split("/")[1:]
    )


def _shapes(routes: Sequence[BaseRoute]) -> list[Shape]:
    by_form: dict[str, Shape] = {}
    for ctx in iter_route_contexts(routes):
        methods = ctx.methods
        if isinstance(ctx.original_route, Mount) or not methods or ctx.path is None:
            continue  # a mounted app answers its own 405s (static files: GET, HEAD)
        regex: re.Pattern[str] = ctx.path_regex
        form = _GROUP.sub("(", regex.pattern)
        shape = by_form.get(form)
        if shape is None:
            shape = by_form[form] = Shape(regex, str(ctx.path), _rank(str(ctx.path)))
        shape.methods.update(methods)
    return sorted(by_form.values(), key=lambda s: s.rank)  # stable: declaration order


class MethodTable:
    """The methods each path supports, from the app's routes."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self._routes = routes
        self._shapes: list[Shape] | None = None
        self._fixed: dict[str, frozenset[str]] = {}
        self._patterns: list[tuple[re.Pattern[str], frozenset[str]]] = []

    @property
    def shapes(self) -> list[Shape]:
        if self._shapes is None:
            self._build()
        assert self._shapes is not None
        return self._shapes

    def _build(self) -> None:
        shapes = _shapes(self._routes)
        for i, shape in enumerate(shapes):
            sample = shape.sample()
            wider = [s for s in shapes[i + 1 :] if s.rank > shape.rank and s.regex.match(sample)]
            if not wider:
                continue
            if shape.fixed:
                self._fixed[shape.template] = frozenset(shape.methods)
            else:
                self._patterns.append((shape.regex, frozenset(shape.methods)))
        self._shapes = shapes

    def allowed(self, path: str) -> frozenset[str] | None:
        """The methods of the most specific shape matching ``path``; None if none does."""
        for shape in self.shapes:
            if shape.regex.match(path):
                return frozenset(shape.methods)
        return None

    def shadowed(self, path: str) -> frozenset[str] | None:
        """For a path that a less specific shape would also match: its own methods."""
        if self._shapes is None:
            self._build()
        found = self._fixed.get(path)
        if found is None and self._patterns:
            for regex, methods in self._patterns:
                if regex.match(path):
                    return methods
        return found


def allow_header(methods: frozenset[str]) -> str:
    return ", ".join(sorted(methods))


def method_not_allowed(methods: frozenset[str]) -> JSONResponse:
    """The 405 answer, as FastAPI renders it, with every method of the path in ``Allow``."""
    return JSONResponse(
        {"detail": "Method Not Allowed"}, status_code=405, headers={"Allow": allow_header(methods)}
    )


class ShadowedPaths:
    """Before routing: a method that a fixed path (``/users/authorize_server``) does not
    support is a 405, not a request for the parameter route beside it
    (``/users/{user_id}``). One dict lookup for every other request."""

    def __init__(self, app: ASGIApp, table: MethodTable) -> None:
        self.app = app
        self.table = table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            methods = self.table.shadowed(scope["path"])
            if methods is not None and scope["method"] not in methods:
                await method_not_allowed(methods)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def route_path(scope: Scope) -> str:
    """The path the router matches: ``path`` without the ``root_path`` it starts with."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return path[len(root) :] or "/"
    return path
