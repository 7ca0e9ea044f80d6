"""``GET /metrics``: the Prometheus scrape of ``kit.metrics``, optionally behind a token."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from zenpro import routing
from zenpro.authz.guards import Public
from zenpro.errors import NotAuthenticated, error_responses
from zenpro.kit.metrics import Metrics


async def metrics_endpoint(request: Request) -> Response:
    _authorize_scrape(request)
    metrics: Metrics = request.app.state.metrics
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)


def _authorize_scrape(request: Request) -> None:
    """With ``ZENPRO_METRICS_TOKEN`` set, a scrape must send ``Authorization: Bearer
    <token>`` (Prometheus: ``authorization: {credentials: …}``); else 401.

    The route names, statuses and counts tell an outsider what the server is used for
    and when (issue 12). Without a token /metrics stays open, as Prometheus scrapes
    it most simply; production should set one or keep the port from the internet. The
    comparison takes the same time wherever the first wrong character is.
    """
    settings = getattr(request.app.state, "settings", None)
    token = getattr(settings, "metrics_token", None)
    if token is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    expected = token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
        raise NotAuthenticated("Send the metrics scrape token: Authorization: Bearer <token>")


def _router() -> APIRouter:
    router = routing.router(dependencies=[Public], tags=["operations"])
    router.add_api_route(
        "/metrics",
        metrics_endpoint,
        methods=["GET"],
        summary="Prometheus metrics",
        description="Metrics in the Prometheus text format: requests, latency, rate limiting, "
        "database pool and caches. Not rate limited. With `ZENPRO_METRICS_TOKEN` set, "
        "send it as `Authorization: Bearer <token>`.",
        operation_id="metrics",
        response_class=Response,
        responses={
            200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Metrics."},
            **error_responses(NotAuthenticated),
        },
    )
    return router


def setup(app: FastAPI) -> Metrics:
    """Create the app's metrics and serve ``/metrics``.

    The caller adds :class:`MetricsMiddleware` last (outermost) so that responses made by
    other middleware, such as a 429, are counted too.
    """
    metrics = Metrics(app)
    app.state.metrics = metrics
    app.include_router(_router())
    return metrics
