"""Request-scoped dependencies shared by every domain."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.config import Settings
from zenpro.kit.db import session_scope


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session. It commits when the handler returns, before the response
    is sent (scope="function"), so a failed commit can never follow a 2xx."""
    async for session in session_scope(request.app.state.sessionmaker):
        session.info["request"] = request  # who and from where, for the audit trail
        yield session


def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_app_settings(request: Request) -> Settings:
    """The dependency (async: FastAPI runs a plain function on a worker thread)."""
    return app_settings(request)


DB = Annotated[AsyncSession, Depends(get_db, scope="function")]
AppSettings = Annotated[Settings, Depends(get_app_settings)]
