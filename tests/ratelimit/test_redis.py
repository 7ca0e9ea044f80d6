"""Redis storage: one budget across instances, and what a Redis outage does (spec §7)."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI

from tests.fixtures.factories import PASSWORD, make_user
from tests.fixtures.services import need
from tests.ratelimit.conftest import AppFactory, client_for
from tests.ratelimit.test_limits import _assert_429, _remaining, _user_headers
from tests.support.processes import free_port

# DB 14 of the shared Redis: these tests flush it and nothing else.
REDIS_URL = "redis://127.0.0.1:6379/14"


@pytest.fixture
async def shared_redis() -> str:
    need("redis")
    client = aioredis.from_url(REDIS_URL)
    await client.flushdb()
    await client.aclose()
    return REDIS_URL


async def test_two_instances_share_one_budget(make_app: AppFactory, shared_redis: str) -> None:
    a = await make_app(redis_url=shared_redis, ratelimit_default="3/minute")
    b = await make_app(redis_url=shared_redis, ratelimit_default="3/minute")
    alice = await _user_headers(a, "alice")
    bob = await _user_headers(a, "bob")
    async with client_for(a) as ca, client_for(b) as cb:
        assert (await ca.get("/users/me", headers=alice)).status_code == 200
        assert (await cb.get("/users/me", headers=alice)).status_code == 200
        r = await ca.get("/users/me", headers=alice)
        assert r.status_code == 200
        assert _remaining(r) == 0
        _assert_429(await cb.get("/users/me", headers=alice))
        assert (await cb.get("/users/me", headers=bob)).status_code == 200


async def test_login_brute_force_is_shared_across_instances(
    make_app: AppFactory, shared_redis: str
) -> None:
    limits = {"ratelimit_login_ip": "3/minute", "ratelimit_login_account": "2/minute"}
    a = await make_app(redis_url=shared_redis, **limits)
    b = await make_app(redis_url=shared_redis, **limits)
    async with a.state.sessionmaker() as db:
        await make_user(db, "alice")
    # One account from several IPs, spread over both instances.
    for app, ip in ((a, "10.2.0.1"), (b, "10.2.0.2")):
        async with client_for(app, ip) as c:
            r = await c.post("/auth/login", data={"username": "bob", "password": "x"})
            assert r.status_code == 401
    async with client_for(a, "10.2.0.3") as c:
        r = await c.post("/auth/login", data={"username": "bob", "password": "x"})
    _assert_429(r)
    # One IP spraying accounts, spread over both instances.
    for app, user in ((a, "u1"), (b, "u2"), (a, "u3")):
        async with client_for(app, "10.2.0.9") as c:
            r = await c.post("/auth/login", data={"username": user, "password": "x"})
            assert r.status_code == 401
    async with client_for(b, "10.2.0.9") as c:
        _assert_429(await c.post("/auth/login", data={"username": "u4", "password": "x"}))
    # The real user on another IP still gets in.
    async with client_for(b, "10.0.0.7") as c:
        r = await c.post("/auth/login", data={"username": "alice", "password": PASSWORD})
    assert r.status_code == 200, r.text


class RedisProcess:
    """A throwaway redis-server of our own, to take down and bring back."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--daemonize", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture
def own_redis() -> Iterator[RedisProcess]:
    need("redis")
    server = RedisProcess()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def zenpro_log(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    # The "zenpro" logger does not propagate to the root logger caplog listens on, and
    # create_app resets its handlers: attach caplog's handler after the app exists.
    logger = logging.getLogger("zenpro")
    logger.addHandler(caplog.handler)
    try:
        yield
    finally:
        logger.removeHandler(caplog.handler)


async def _app_on(make_app: AppFactory, server: RedisProcess, **overrides: object) -> FastAPI:
    app = await make_app(redis_url=server.url, ratelimit_default="3/minute", **overrides)
    app.state.rate_limiter.pause_seconds = 0.0  # retry Redis on every request in tests
    return app


async def test_outage_fails_open_with_a_warning_and_recovers(
    make_app: AppFactory, own_redis: RedisProcess, caplog: pytest.LogCaptureFixture
) -> None:
    app = await _app_on(make_app, own_redis)
    alice = await _user_headers(app, "alice")
    async with client_for(app) as c:
        assert _remaining(await c.get("/users/me", headers=alice)) == 2
        own_redis.stop()
        with zenpro_log(caplog):
            for _ in range(5):  # over the limit: nothing is counted while Redis is down
                r = await c.get("/users/me", headers=alice)
                assert r.status_code == 200
                assert r.headers["ratelimit-policy"] == '"default";q=3;w=60'
                assert "ratelimit" not in r.headers
        warnings = [rec for rec in caplog.records if "rate-limit storage" in rec.message]
        assert len(warnings) == 1  # logged once, not once per request
        assert warnings[0].levelno == logging.WARNING
        metrics = (await c.get("/metrics")).text
        assert "zenpro_ratelimit_storage_errors_total 5.0" in metrics

        own_redis.start()  # same port, empty: limiting resumes without a restart
        await _until_counted(c, alice)
        for _ in range(3):
            r = await c.get("/users/me", headers=alice)
        _assert_429(r)


async def _until_counted(c: httpx.AsyncClient, headers: dict[str, str]) -> None:
    for _ in range(20):
        r = await c.get("/users/me", headers=headers)
        if "ratelimit" in r.headers:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("rate limiting did not resume after Redis came back")


async def test_outage_fails_closed_when_configured(
    make_app: AppFactory, own_redis: RedisProcess
) -> None:
    app = await _app_on(make_app, own_redis, ratelimit_fail_closed=True)
    alice = await _user_headers(app, "alice")
    async with client_for(app) as c:
        assert (await c.get("/users/me", headers=alice)).status_code == 200
        own_redis.stop()
        r = await c.get("/users/me", headers=alice)
        assert r.status_code == 503
        assert int(r.headers["retry-after"]) >= 1
        assert r.json()["detail"].startswith("Rate limiting is unavailable")
        assert (await c.get("/health")).status_code == 200  # exempt routes still answer
        own_redis.start()
        for _ in range(20):
            r = await c.get("/users/me", headers=alice)
            if r.status_code != 503:
                break
            await asyncio.sleep(0.1)
    assert r.status_code in (200, 429)
    assert "ratelimit" in r.headers


async def test_a_hung_redis_costs_one_timeout_not_a_stall(
    make_app: AppFactory, own_redis: RedisProcess
) -> None:
    app = await _app_on(make_app, own_redis, ratelimit_storage_timeout=0.2)
    alice = await _user_headers(app, "alice")
    assert own_redis.proc is not None
    async with client_for(app) as c:
        assert (await c.get("/users/me", headers=alice)).status_code == 200
        own_redis.proc.send_signal(signal.SIGSTOP)  # accepts nothing, answers nothing
        try:
            start = time.monotonic()
            r = await c.get("/users/me", headers=alice)
            elapsed = time.monotonic() - start
        finally:
            own_redis.proc.send_signal(signal.SIGCONT)
    assert r.status_code == 200
    assert "ratelimit" not in r.headers  # served, uncounted (fail-open)
    assert elapsed < 2.0
