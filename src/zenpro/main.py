"""The application factory."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.telemetry import TelemetryConfig

from zenpro import __version__, audit, docs, handlers, ratelimit, routes
from zenpro.auth.passwords import reset_limiter
from zenpro.config import Settings, get_settings
from zenpro.fastlane import FastLane
from zenpro.kit import cache as epoch_cache
from zenpro.kit import logging as zlogging
from zenpro.kit.cache import EpochCache
from zenpro.kit.db import make_engine, make_sessionmaker
from zenpro.kit.memory import tune_malloc
from zenpro.kit.metrics import MetricsMiddleware
from zenpro.kit.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from zenpro.kit.migrate import head_revision
from zenpro.kit.prefix import RestorePrefix, StripPrefix
from zenpro.kit.request_limits import RequestLimitsMiddleware
from zenpro.kit.routing import MethodTable, ShadowedPaths
from zenpro.models import CacheChange, CacheEpoch
from zenpro.models.epochs import RULES as EPOCH_RULES
from zenpro.models.epochs import SCOPES as EPOCH_SCOPES
from zenpro.ops import metrics as ops_metrics
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


def _telemetry(enabled: bool) -> TelemetryConfig | None:
    """FastAPI's defaults when OpenTelemetry is wanted; otherwise its hooks off, so no
    request asks the OpenTelemetry API whether a provider has been configured."""
    if enabled:
        return None
    return {"tracing": False, "metrics": False, "logs": False}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    epoch_cache.install(EPOCH_RULES, EPOCH_SCOPES, CacheEpoch, CacheChange)
    tune_malloc()
    audit.install()
    zlogging.configure(settings.log_format, settings.log_level)
    app = FastAPI(
        title="zenpro",
        version=__version__,
        description=docs.DESCRIPTION,
        lifespan=_lifespan(settings),
        docs_url=None,  # served by zenpro.docs with local assets
        redoc_url=None,
        swagger_ui_parameters={"withCredentials": True, "persistAuthorization": False},
        telemetry=_telemetry(settings.opentelemetry),
        # One document whichever base URL it is fetched from (see kit.prefix).
        root_path_in_servers=False,
    )
    app.state.settings = settings
    handlers.install(app)
    routes.include(app)
    docs.install(app)
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
