"""Apps with rate limiting on, built per test with their own limits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import httpx
import pytest
from fastapi import FastAPI

from tests.fixtures import db as dbfix
from tests.support.apps import asgi_client, make_settings, started

AppFactory = Callable[..., Awaitable[FastAPI]]


@pytest.fixture
async def make_app(database_url: str) -> AsyncIterator[AppFactory]:
    """``await make_app(ratelimit_default="3/minute", ...)``: a started app; cleaned up after."""
    apps: list[FastAPI] = []
    async with AsyncExitStack() as stack:

        async def factory(**overrides: object) -> FastAPI:
            values: dict[str, object] = {"ratelimit_enabled": True}
            values.update(overrides)
            application = await stack.enter_async_context(
                started(make_settings(database_url, **values))
            )
            apps.append(application)
            return application

        yield factory
        if apps:
            await dbfix.clean(apps[0].state.engine)


def client_for(app: FastAPI, ip: str = "127.0.0.1") -> httpx.AsyncClient:
    return asgi_client(app, ip=ip)
