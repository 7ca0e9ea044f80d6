"""What an exception becomes on the wire: one table, installed by ``create_app``.

Domain errors render themselves (``errors.ZenproError.body``); the rest maps what the
database, the HTTP layer and validation raise to the answers a client can act on: 409 for a
constraint race, 503 (``Retry-After``) when the database is unreachable, 400 for a value SQL
cannot store, 422 in FastAPI's own shape, exact 405s, and a logged 500 for anything else.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    StatementError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from zenpro.authz.resources import BadResource
from zenpro.errors import BadRequest, Conflict, NotFound, Unavailable, ZenproError
from zenpro.kit.pagination import UnknownCursor
from zenpro.kit.routing import MethodTable, method_not_allowed, route_path

log = logging.getLogger("zenpro")
Handler = Callable[[Request, Exception], Awaitable[Response]]


def _json(err: ZenproError) -> JSONResponse:
    return JSONResponse(err.body(), status_code=err.status_code, headers=err.headers)


async def unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", extra={"request_id": request.state.request_id})
    return JSONResponse(
        {"detail": "Internal server error", "request_id": request.state.request_id},
        status_code=500,
    )


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        # Starlette lists the methods of the first route that matched the path only.
        table: MethodTable = request.app.state.method_table
        methods = table.allowed(route_path(request.scope))
        if methods:
            return method_not_allowed(methods)
    return await http_exception_handler(request, exc)


async def domain_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ZenproError)
    return _json(exc)


async def integrity_error(_: Request, exc: Exception) -> Response:
    # Services turn known races into 409 themselves; this is the safety net.
    return _json(Conflict("The request conflicts with existing data"))


async def db_unavailable(request: Request, exc: Exception) -> Response:
    log.warning("database unavailable: %s", type(exc).__name__)
    return _json(Unavailable("The database is unavailable; retry shortly", retry_after=2))


async def data_error(_: Request, exc: Exception) -> Response:
    return _json(BadRequest("A value in the request cannot be stored (invalid characters or size)"))


async def dbapi_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DBAPIError)
    if exc.connection_invalidated:
        return await db_unavailable(request, exc)
    sqlstate = str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", ""))
    # 08: connection exception; 57P: shutting down, crashed, starting up (restarts).
    if sqlstate.startswith(("08", "57P")):
        return await db_unavailable(request, exc)
    if sqlstate.startswith("22"):  # SQL "data exception": a value the client sent
        return await data_error(request, exc)
    return await unexpected(request, exc)


async def bind_error(request: Request, exc: Exception) -> Response:
    # A value that failed on its way into SQL (e.g. a date outside the calendar once
    # converted to UTC): the request's to fix. Schema types should catch these first.
    assert isinstance(exc, StatementError)
    if isinstance(exc.orig, OverflowError | ValueError | TypeError):
        return await data_error(request, exc)
    return await unexpected(request, exc)


async def bad_resource(_: Request, exc: Exception) -> Response:
    detail = [{"loc": ["body"], "msg": str(exc), "type": "value_error"}]
    return JSONResponse({"detail": detail}, status_code=422)


async def unknown_cursor(_: Request, exc: Exception) -> Response:
    return _json(NotFound(str(exc)))


async def validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
    return JSONResponse({"detail": errors}, status_code=422)


HANDLERS: tuple[tuple[type[Exception], Handler], ...] = (
    (Exception, unexpected),
    (StarletteHTTPException, http_error),
    (ZenproError, domain_error),
    (IntegrityError, integrity_error),
    (OperationalError, db_unavailable),
    (InterfaceError, db_unavailable),
    (PoolTimeout, db_unavailable),
    (OSError, db_unavailable),  # refused/reset/timed-out DB connects, unwrapped by SQLA
    (DataError, data_error),
    (DBAPIError, dbapi_error),
    (StatementError, bind_error),
    (BadResource, bad_resource),
    (UnicodeEncodeError, data_error),
    (RequestValidationError, validation_error),
    (UnknownCursor, unknown_cursor),
)


def install(app: FastAPI) -> None:
    for exc, handler in HANDLERS:
        app.add_exception_handler(exc, handler)
