"""Prometheus counters: request counts and latency, rate-limit and pool gauges, cache events.

The ``/metrics`` route that serves them lives in ``zenpro.ops.metrics``.

Each app owns its ``CollectorRegistry`` (``app.state.metrics``), so several apps in one
process (tests) never share counters. The cache counter is process-wide on purpose: code
that has no app at hand calls :func:`cache_event`, and every app's ``/metrics`` shows it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zenpro.kit.asgi import HTTPMiddleware

# Bounded label values: anything else a client sends as a method is "OTHER".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

CACHE_EVENTS = Counter(
    "zenpro_cache_events",
    "Cache lookups by cache name and result (hit or miss).",
    ["cache", "result"],
    registry=None,
)


_CACHE_CHILDREN: dict[tuple[str, bool], Any] = {}


def cache_event(name: str, hit: bool) -> None:
    """Count one lookup in the cache ``name``; works whether or not an app is running."""
    child = _CACHE_CHILDREN.get((name, hit))
    if child is None:  # cache names are a handful of constants: bounded
        child = CACHE_EVENTS.labels(cache=name, result="hit" if hit else "miss")
        _CACHE_CHILDREN[(name, hit)] = child
    child.inc()


class _PoolCollector(Collector):
    """Database pool usage, read at scrape time; pools without these counters are skipped."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterable[Metric]:
        engine = getattr(self.app.state, "engine", None)
        pool = getattr(engine, "pool", None)
        for name, attr, doc in (
            ("zenpro_db_pool_checked_out", "checkedout", "Connections in use."),
            ("zenpro_db_pool_size", "size", "Configured pool size."),
            ("zenpro_db_pool_overflow", "overflow", "Connections above the pool size."),
        ):
            read = getattr(pool, attr, None)
            if not callable(read):
                continue
            try:
                value = float(read())
            except (AttributeError, NotImplementedError, TypeError):  # pool lacks it
                continue
            yield GaugeMetricFamily(name, doc, value=value)


class Metrics:
    """The metrics of one app."""

    def __init__(self, app: FastAPI) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "zenpro_http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "zenpro_http_request_duration_seconds",
            "HTTP request latency by method, route template and status.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.ratelimit_rejections = Counter(
            "zenpro_ratelimit_rejections",
            "Requests answered 429, by rate-limit policy.",
            ["policy"],
            registry=self.registry,
        )
        self.ratelimit_storage_errors = Counter(
            "zenpro_ratelimit_storage_errors",
            "Failed calls to the rate-limit storage (Redis).",
            registry=self.registry,
        )
        self.registry.register(CACHE_EVENTS)
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}
        self.registry.register(_PoolCollector(app))

    def observe(self, labels: tuple[str, str, str], seconds: float) -> None:
        """Count and time one request. The labelled children are kept: every label is
        bounded (methods, route templates, status codes), and ``labels()`` is costly."""
        children = self._children.get(labels)
        if children is None:
            children = self._children[labels] = (
                self.requests.labels(*labels),
                self.latency.labels(*labels),
            )
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def route_label(scope: Scope) -> str:
    """The route template, as the rate limiter resolved it (with any include prefix), else
    from routing; the limiter's value also covers requests it answered itself (429)."""
    state: dict[str, Any] = scope.get("state") or {}
    template = state.get("route_template")
    if template:
        return str(template)
    path = getattr(scope.get("route"), "path", None)
    return str(path) if path else "<unmatched>"


class MetricsMiddleware(HTTPMiddleware):
    """Count and time every HTTP request (pure ASGI, like kit.middleware)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        super().__init__(app)
        self.metrics = metrics

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            labels = (method, route_label(scope), str(status))
            self.metrics.observe(labels, time.perf_counter() - start)
