"""The application factory."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.telemetry import TelemetryConfig
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

from zenpro import __version__, audit, docs, ratelimit
from zenpro.audit import endpoints as audit_endpoints
from zenpro.auth import device
from zenpro.auth import endpoints as auth_endpoints
from zenpro.auth import pages as auth_pages
from zenpro.auth.passwords import reset_limiter
from zenpro.authz.resources import BadResource
from zenpro.config import Settings, get_settings
from zenpro.errors import BadRequest, Conflict, Unavailable, ZenproError
from zenpro.fastlane import FastLane
from zenpro.invitations import endpoints as invitations
from zenpro.kit import cache as epoch_cache
from zenpro.kit import logging as zlogging
from zenpro.kit.cache import EpochCache
from zenpro.kit.db import make_engine, make_sessionmaker
from zenpro.kit.memory import tune_malloc
from zenpro.kit.metrics import MetricsMiddleware
from zenpro.kit.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from zenpro.kit.migrate import head_revision
from zenpro.kit.prefix import API_PREFIX, RestorePrefix, StripPrefix
from zenpro.kit.request_limits import MAX_HEADER_BYTES, MAX_TARGET_BYTES, RequestLimitsMiddleware
from zenpro.kit.routing import MethodTable, ShadowedPaths, method_not_allowed, route_path
from zenpro.kit.schemas import TEXT_RULE
from zenpro.machine import endpoints as machine
from zenpro.models import CacheEpoch
from zenpro.models.epochs import RULES as EPOCH_RULES
from zenpro.ops import metrics as ops_metrics
from zenpro.ops.health import router as ops_router
from zenpro.organizations import endpoints as organizations
from zenpro.rbac import endpoints as rbac
from zenpro.roles import endpoints as roles
from zenpro.service_accounts import endpoints as service_accounts
from zenpro.teams import endpoints as teams
from zenpro.users import api_keys
from zenpro.users import endpoints as user_endpoints
from zenpro.workspaces import endpoints as workspaces
from zenpro.workspaces import reconciler

log = logging.getLogger("zenpro")
CORS_EXPOSED = [
    "X-Total-Count",
    "Link",
    "RateLimit",
    "RateLimit-Policy",
    "Retry-After",
    "X-Request-ID",
]

DESCRIPTION = f"""
zenpro is an open, self-hosted server for the **ZenML Pro management API**: organizations,
workspaces (formerly *tenants*), users, teams, invitations, roles and permission checks.

**Base URL.** Every path below is served at the root and, identically, under
`{API_PREFIX}`, the base URL self-hosted ZenML Pro documents (`https://<host>{API_PREFIX}`):
`{API_PREFIX}/users/me` is `/users/me`, with the same sessions, rate-limit budgets, caches and
answers. `{API_PREFIX}` is an alias of every path; this document lists each path once, at the
root.

**Authentication.** Every endpoint takes `Authorization: Bearer <token>` (a session token, an
API token, a `ZENPROKEY_` key or a workspace machine token). In a browser, sign in at
[/login](/login): the session cookie then authenticates "Try it out" on this page.

**Errors** are JSON: `{{"detail": [ExceptionName, message], "code": …}}` (the shape the ZenML
client decodes); 422 is FastAPI's validation list. Lists are bare JSON arrays paged with
`offset`/`limit`, with `X-Total-Count` and `Link` headers.

**Text** values (body, query, path, header, form): {TEXT_RULE} Each string's schema says
so (a pattern, a format or an enum); rules across parameters that OpenAPI cannot state are
in the operation's description.

**Limits.** A request target (path and query string) over {MAX_TARGET_BYTES} bytes is refused
with 414, request headers over {MAX_HEADER_BYTES} bytes (names and values together) with 431,
a body over the configured cap with 413; a method a path does not support with 405 and an
`Allow` header listing every method it does.
"""


GC_THRESHOLD = 5000  # net new container objects before a young collection (default 700)


def _lifespan(settings: Settings):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        reset_limiter()
        engine = make_engine(settings.database_url, settings.db_pool_size, settings.db_pool_timeout)
        app.state.engine = engine
        app.state.cache = EpochCache()
        await app.state.cache.start(engine)
        app.state.sessionmaker = make_sessionmaker(engine, app.state.cache)
        app.state.expected_head = head_revision(settings.database_url)
        # Everything imported and built so far lives as long as the process: move it out of
        # the collector's sight, so a full collection does not walk it (measured: p99 on
        # the hot paths went from ~50 ms to ~3 ms; see bench/NOTES.md).
        gc.collect()
        gc.freeze()
        # Under load, objects of in-flight requests survive young collections and count
        # towards a full one: with the default threshold (700) a full collection ran about
        # once a second, ~12 ms each, and set the p99. Nearly all garbage here is freed by
        # reference counting, so a larger first threshold costs little memory (measured:
        # full collections from ~1/s to ~1/30 s; bench/NOTES.md).
        gc.set_threshold(GC_THRESHOLD, 10, 10)
        try:
            async with reconciler.running(app):
                yield
        finally:
            await app.state.cache.stop()
            await engine.dispose()

    return lifespan


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"request_id": request.state.request_id})
        return JSONResponse(
            {"detail": "Internal server error", "request_id": request.state.request_id},
            status_code=500,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            # Starlette lists the methods of the first route that matched the path only.
            table: MethodTable = request.app.state.method_table
            methods = table.allowed(route_path(request.scope))
            if methods:
                return method_not_allowed(methods)
        return await http_exception_handler(request, exc)

    @app.exception_handler(ZenproError)
    async def domain_error(_: Request, exc: ZenproError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(IntegrityError)
    async def integrity_error(_: Request, exc: IntegrityError) -> JSONResponse:
        # Services turn known races into 409 themselves; this is the safety net.
        err = Conflict("The request conflicts with existing data")
        return JSONResponse(err.body(), status_code=409)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(PoolTimeout)
    @app.exception_handler(OSError)  # refused/reset/timed-out DB connects, unwrapped by SQLA
    async def db_unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", type(exc).__name__)
        err = Unavailable("The database is unavailable; retry shortly", retry_after=2)
        return JSONResponse(err.body(), status_code=503, headers=err.headers)

    @app.exception_handler(DataError)
    async def data_error(_: Request, exc: Exception) -> JSONResponse:
        err = BadRequest("A value in the request cannot be stored (invalid characters or size)")
        return JSONResponse(err.body(), status_code=400)

    @app.exception_handler(DBAPIError)
    async def dbapi_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:
            return await db_unavailable(request, exc)
        sqlstate = str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", ""))
        # 08: connection exception; 57P: shutting down, crashed, starting up (restarts).
        if sqlstate.startswith(("08", "57P")):
            return await db_unavailable(request, exc)
        if sqlstate.startswith("22"):  # SQL "data exception": a value the client sent
            return await data_error(request, exc)
        return await unexpected(request, exc)

    @app.exception_handler(StatementError)
    async def bind_error(request: Request, exc: StatementError) -> JSONResponse:
        # A value that failed on its way into SQL (e.g. a date outside the calendar once
        # converted to UTC): the request's to fix. Schema types should catch these first.
        if isinstance(exc.orig, OverflowError | ValueError | TypeError):
            return await data_error(request, exc)
        return await unexpected(request, exc)

    @app.exception_handler(BadResource)
    async def bad_resource(_: Request, exc: BadResource) -> JSONResponse:
        detail = [{"loc": ["body"], "msg": str(exc), "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(UnicodeEncodeError)
    async def unicode_error(request: Request, exc: UnicodeEncodeError) -> JSONResponse:
        return await data_error(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)


def _telemetry(enabled: bool) -> TelemetryConfig | None:
    """FastAPI's defaults when OpenTelemetry is wanted; otherwise its hooks off, so no
    request asks the OpenTelemetry API whether a provider has been configured."""
    if enabled:
        return None
    return {"tracing": False, "metrics": False, "logs": False}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    epoch_cache.install(EPOCH_RULES, CacheEpoch)
    tune_malloc()
    audit.install()
    zlogging.configure(settings.log_format, settings.log_level)
    app = FastAPI(
        title="zenpro",
        version=__version__,
        description=DESCRIPTION,
        lifespan=_lifespan(settings),
        docs_url=None,  # served by zenpro.docs with local assets
        redoc_url=None,
        swagger_ui_parameters={"withCredentials": True, "persistAuthorization": False},
        telemetry=_telemetry(settings.opentelemetry),
        # One document whichever base URL it is fetched from (see kit.prefix).
        root_path_in_servers=False,
    )
    app.state.settings = settings
    _install_error_handlers(app)
    # Routes are matched in order: the workspace servers' hot paths (/rbac, /users/me)
    # come first so they are found after few comparisons.
    app.include_router(ops_router)
    app.include_router(rbac.router)
    # Fixed /users/... paths go before /users/{user_id}.
    app.include_router(api_keys.router)
    app.include_router(machine.router)
    app.include_router(user_endpoints.router)
    app.include_router(auth_endpoints.router)
    app.include_router(auth_pages.router)
    docs.install(app)
    app.include_router(device.router)
    app.include_router(organizations.router)
    app.include_router(workspaces.router)
    app.include_router(teams.router)
    app.include_router(invitations.router)
    app.include_router(roles.router)
    app.include_router(service_accounts.router)
    app.include_router(audit_endpoints.router)
    # Innermost, just before routing: a request that came as /api/v1/... gets its path back
    # (with root_path), so URLs built from it keep the prefix; then fixed paths refuse the
    # methods they lack rather than fall to a {param} route beside them (kit.routing).
    app.add_middleware(RestorePrefix)
    app.state.method_table = MethodTable(app.router.routes)
    app.add_middleware(ShadowedPaths, table=app.state.method_table)
    # The fast lane sees requests after the rate limiter, metrics and body cap.
    app.state.fastlane_served = 0  # answers given by the fast lane (tests read it)
    app.add_middleware(FastLane, state=app.state)
    metrics = ops_metrics.setup(app)
    ratelimit.install(app, settings, metrics)
    # Outside the limiter: its answers (429) are counted too.
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        # Off unless configured: only the listed origins, with credentials. Outside the body
        # cap and the limiter so a preflight is answered before either; inside the request
        # context so it carries the request id and security headers.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=CORS_EXPOSED,
        )
    app.add_middleware(RequestContextMiddleware)
    # Outside everything else: refuse oversized request lines and headers before any work,
    # and, outermost, serve /api/v1/... as the root path it aliases (kit.prefix).
    app.add_middleware(RequestLimitsMiddleware)
    app.add_middleware(StripPrefix)
    return app
