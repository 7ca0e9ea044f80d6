"""The workspace reconciler: moves status toward desired_state (spec §8).

The rules live in ``lifecycle``; this module picks the provisioners from the settings
(``ZENPRO_WORKSPACE_PROVISIONER``) and runs ``reconcile_once`` every
``reconcile_interval_seconds`` for the app's lifetime. Several instances may run it at
once: every transition is a compare-and-set, so none is made twice (and the local
provisioner's servers each have one supervisor, by lock file).
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
from zenpro.workspaces.lifecycle import (
    ExternalProvisioner,
    Provisioners,
    SimulatedProvisioner,
    reconcile_once,
)
from zenpro.workspaces.local import LocalProvisioner

log = logging.getLogger("zenpro.workspaces")


def provisioners_for(settings: Settings, maker: async_sessionmaker[AsyncSession]) -> Provisioners:
    """Managed workspaces by ``ZENPRO_WORKSPACE_PROVISIONER``; enrolled ones: external."""
    external = ExternalProvisioner()
    if settings.workspace_provisioner == "local":
        return Provisioners(managed=LocalProvisioner(maker), external=external)
    if settings.workspace_provisioner == "external":
        return Provisioners(managed=external, external=external)
    return Provisioners(managed=SimulatedProvisioner(), external=external)


async def _loop(
    maker: async_sessionmaker[AsyncSession], settings: Settings, provisioners: Provisioners
) -> None:
    while True:
        try:
            await reconcile_once(maker, settings, provisioners)
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
    provisioners = provisioners_for(settings, app.state.sessionmaker)
    app.state.provisioners = provisioners
    if not settings.reconciler_enabled:
        yield
        return
    task = asyncio.create_task(
        _loop(app.state.sessionmaker, settings, provisioners), name="reconciler"
    )
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if isinstance(provisioners.managed, LocalProvisioner):
            provisioners.managed.close()  # the servers keep running: the next zenpro adopts
