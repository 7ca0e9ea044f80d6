"""Shared fixtures: one app per database backend (SQLite and PostgreSQL), isolated tests.

``BASE_URL`` and ``make_settings`` live in ``tests/support/apps.py`` (imported here for the
many tests that take them from this module)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures import db as dbfix
from tests.fixtures.factories import bearer, make_user, token_for
from tests.fixtures.services import need
from tests.support.apps import BASE_URL, cleaning_client, make_settings, started

__all__ = ["BASE_URL", "make_settings"]
from zenpro.models import User


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item, so fixtures can tell that the test failed
    (the browser tests keep a screenshot then: ``tests/support/browser.py``)."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        need("postgres")
        return await dbfix.fresh_postgres()
    return await dbfix.fresh_sqlite()


@pytest.fixture(scope="session")
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    async with started(make_settings(database_url)) as application:
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with cleaning_client(app) as c:
        yield c


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
