"""The workspace reconciler: moves status toward desired_state (spec §8).

The rules live in ``lifecycle``; this module only runs ``reconcile_once`` every
``reconcile_interval_seconds`` for the app's lifetime. Several instances may run it at
once: every transition is a compare-and-set, so none is made twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from zenpro.config import Settings
from zenpro.workspaces.lifecycle import reconcile_once

log = logging.getLogger("zenpro.workspaces")


async def _loop(maker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    while True:
        try:
            await reconcile_once(maker, settings)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The database may be briefly away; the next pass tries again.
            log.exception("workspace reconciler pass failed")
        await asyncio.sleep(settings.reconcile_interval_seconds)


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[None]:
    """Run the reconciler in the background for the app's lifetime (when enabled)."""
    settings: Settings = app.state.settings
    if not settings.reconciler_enabled:
        yield
        return
    task = asyncio.create_task(_loop(app.state.sessionmaker, settings), name="reconciler")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
