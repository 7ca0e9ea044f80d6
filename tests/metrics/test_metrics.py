"""GET /metrics: Prometheus text with requests, latency, rate limiting, pool and caches."""

from __future__ import annotations

from fastapi import FastAPI

from tests.ratelimit.conftest import AppFactory, client_for
from zenpro.kit.metrics import Metrics, cache_event


async def test_request_counter_by_route_template(make_app: AppFactory) -> None:
    app = await make_app(ratelimit_enabled=False)
    async with client_for(app) as c:
        await c.get("/users/me")
        await c.get("/users/0b9a2a4e-8d36-4a8f-8d2f-6a1f4c2b9e01")
        await c.get("/users/5d3e3f0c-1c1e-4c0e-9a7b-1e2f3a4b5c6d")
        await c.get("/no/such/path")
        r = await c.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'zenpro_http_requests_total{method="GET",route="/users/me",status="401"} 1.0' in text
    by_id = 'zenpro_http_requests_total{method="GET",route="/users/{user_id}",status="401"} 2.0'
    assert by_id in text
    assert 'route="<unmatched>",status="404"' in text
    assert "zenpro_http_request_duration_seconds_bucket{" in text
    assert 'route="/users/0b9a' not in text  # ids never become label values


async def test_rejections_are_counted(make_app: AppFactory) -> None:
    app = await make_app(ratelimit_anonymous="1/minute")
    async with client_for(app) as c:
        await c.get("/users/me")
        assert (await c.get("/users/me")).status_code == 429
        text = (await c.get("/metrics")).text
    assert 'zenpro_ratelimit_rejections_total{policy="anonymous"} 1.0' in text
    assert 'zenpro_http_requests_total{method="GET",route="/users/me",status="429"} 1.0' in text
    assert "zenpro_ratelimit_storage_errors_total 0.0" in text


async def test_pool_and_cache_metrics(make_app: AppFactory, database_url: str) -> None:
    app = await make_app()
    cache_event("principal", True)
    cache_event("principal", False)
    async with client_for(app) as c:
        text = (await c.get("/metrics")).text
    assert 'zenpro_cache_events_total{cache="principal",result="hit"}' in text
    assert 'zenpro_cache_events_total{cache="principal",result="miss"}' in text
    assert "zenpro_db_pool_checked_out " in text
    assert "zenpro_db_pool_size " in text


def test_cache_event_works_without_an_app() -> None:
    cache_event("standalone", hit=False)


def test_each_app_has_its_own_registry() -> None:
    a, b = Metrics(FastAPI()), Metrics(FastAPI())
    a.requests.labels("GET", "/x", "200").inc()
    assert b"/x" in a.render()
    assert b"/x" not in b.render()
    assert b"zenpro_db_pool" not in a.render()  # no engine yet: no pool gauges, no error


async def test_metrics_route_is_documented(make_app: AppFactory) -> None:
    app = await make_app()
    async with client_for(app) as c:
        schema = (await c.get("/openapi.json")).json()
    op = schema["paths"]["/metrics"]["get"]
    assert op["operationId"] == "metrics"
    assert op["summary"] == "Prometheus metrics"
