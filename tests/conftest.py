"""Shared fixtures: one app per database backend (SQLite and PostgreSQL), isolated tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures import db as dbfix
from tests.fixtures.factories import bearer, make_user, token_for
from tests.fixtures.services import need
from zenpro.config import Settings
from zenpro.main import create_app
from zenpro.models import User

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


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        need("postgres")
        return await dbfix.fresh_postgres()
    return await dbfix.fresh_sqlite()


@pytest.fixture(scope="session")
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(database_url))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as c:
        yield c
    await dbfix.clean(app.state.engine)
    app.state.cache.moved(("auth", "grants"))


@pytest.fixture
async def db(app: FastAPI, client: httpx.AsyncClient) -> AsyncIterator[AsyncSession]:
    async with app.state.sessionmaker() as session:
        yield session


@pytest.fixture
async def admin(db: AsyncSession) -> User:
    return await make_user(db, "admin", superuser=True)


@pytest.fixture
async def admin_headers(db: AsyncSession, admin: User) -> dict[str, str]:
    return bearer(await token_for(db, admin))


@pytest.fixture
async def alice(db: AsyncSession) -> User:
    return await make_user(db, "alice")


@pytest.fixture
async def alice_headers(db: AsyncSession, alice: User) -> dict[str, str]:
    return bearer(await token_for(db, alice))
