"""The app in-process: settings for tests, a started app, an httpx client over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from tests.fixtures import db as dbfix
from zenpro.config import Settings
from zenpro.main import create_app

BASE_URL = "http://testserver"


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "test",
        "database_url": database_url,
        "base_url": BASE_URL,
        "reconciler_enabled": False,
        "log_level": "WARNING",
        # The shared app serves the whole suite from one IP; tests/ratelimit turns it on.
        "ratelimit_enabled": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@asynccontextmanager
async def started(settings: Settings) -> AsyncIterator[FastAPI]:
    """An app with its lifespan running (engine, caches, listener) until the block ends."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


def asgi_client(app: FastAPI, base_url: str = BASE_URL, ip: str | None = None) -> httpx.AsyncClient:
    """An httpx client that calls ``app`` in-process (from ``ip`` when given)."""
    transport = httpx.ASGITransport(app=app, client=(ip, 1234) if ip else ("127.0.0.1", 123))
    return httpx.AsyncClient(transport=transport, base_url=base_url)


@asynccontextmanager
async def cleaning_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client for one test; afterwards every table but the seeded ones is emptied and
    the app's caches are told (the suite's isolation)."""
    async with asgi_client(app) as c:
        yield c
    await dbfix.clean(app.state.engine)
    app.state.cache.moved(("auth", "grants"))


@asynccontextmanager
async def other_app(database_url: str, **overrides: object) -> AsyncIterator[httpx.AsyncClient]:
    """A second app (other settings, or another instance) on the same database, and a
    client for it; the suite cleans the database."""
    base = str(overrides.get("base_url", BASE_URL))
    async with (
        started(make_settings(database_url, **overrides)) as app,
        asgi_client(app, base) as c,
    ):
        yield c
