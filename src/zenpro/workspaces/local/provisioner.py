"""The local provisioner (``ZENPRO_WORKSPACE_PROVISIONER=local``; docs/provisioners.md):
every managed workspace is an unmodified ZenML server, a child process on 127.0.0.1.

- **One supervisor per workspace, host-wide.** Whoever holds the workspace's lock file
  (``files.Lock``) supervises its server; every other zenpro process (another worker,
  another instance on this host, the next zenpro after a crash) leaves it alone and has no
  opinion on its status. Taking the lock, a zenpro adopts the server it finds running
  (``server.json``: pid and start time) rather than start a second copy.
- **The credential is made here, at every start**: a fresh enrollment key, whose hash goes
  to the database (the old key's machine tokens end) and whose clear text goes only into
  the server's environment. A key rotated through the API restarts the server with a
  fresh one of its own.
- **The sweep** (every pass, every process) stops servers whose workspace is deactivated,
  deleted or gone, and removes a deleted workspace's directory after
  ``ZENPRO_LOCAL_DELETE_GRACE_SECONDS``.
"""

from __future__ import annotations

import logging
import time
import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from zenpro.auth.secrets import ENROLLMENT_PREFIX, hash_secret, new_secret
from zenpro.config import Settings
from zenpro.models import Workspace
from zenpro.organizations import repository as org_repo
from zenpro.workspaces import repository as repo
from zenpro.workspaces.lifecycle import Outcome
from zenpro.workspaces.local import processes
from zenpro.workspaces.local.files import (
    Lock,
    ServerDir,
    database_fingerprint,
    listing,
    rotate,
)
from zenpro.workspaces.local.server import ZenMLRuntime, pro_env_for, server_env
from zenpro.workspaces.local.supervisor import Launch, RestartPolicy, Supervisor
from zenpro.workspaces.schemas import Status

log = logging.getLogger("zenpro.workspaces.local")


def should_run(row: repo.Lifecycle | None) -> bool:
    return (
        row is not None
        and row.desired_state == "available"
        and row.status not in (Status.deleted, Status.failed)
    )


class LocalProvisioner:
    name = "local"
    supervises = True

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        runtime: ZenMLRuntime | None = None,
        policy: RestartPolicy | None = None,
    ) -> None:
        """``runtime`` and ``policy`` (default: ZenML, and the restart settings) are
        replaced by the supervision tests."""
        self._maker = sessionmaker
        self._runtime = runtime or ZenMLRuntime()
        self._policy = policy
        self._supervisors: dict[uuid.UUID, Supervisor] = {}

    # -- the Provisioner protocol ---------------------------------------------------------

    async def provision(self, ws: Workspace, settings: Settings) -> Outcome:
        sup = self._supervisors.get(ws.id) or self._claim(ws, settings)
        if sup is None:
            return Outcome.unchanged(ws)  # another zenpro process supervises it
        if sup.record is None:  # about to start one: the virtualenv must be ready
            not_ready = await self._runtime.check(settings)
            if not_ready is not None:
                if not_ready.status == Status.failed:
                    self._drop(ws.id)
                return not_ready
        if sup.record is not None and sup.record.key_hash != ws.enrollment_key_hash:
            await sup.stop("its enrollment key was replaced; starting it with a new one")
        workspace_id = str(ws.id)

        async def launch() -> Launch:
            return await self._launch(ws, sup.dirs, settings)

        async def probe(port: int) -> dict[str, object] | None:
            return await self._runtime.probe(port, workspace_id)

        outcome = await sup.step(launch, probe)
        if outcome.status == Status.failed:
            self._drop(ws.id)
        return outcome

    async def deactivate(self, ws: Workspace, settings: Settings) -> None:
        await self._stop(ws.id, settings, "the workspace is deactivated")

    async def delete(self, ws: Workspace, settings: Settings) -> None:
        await self._stop(ws.id, settings, "the workspace is deleted")

    async def sweep(self, settings: Settings) -> None:
        """Stop what should not run, rotate the logs of what does, and remove the
        directories of workspaces deleted longer ago than the grace period."""
        found = listing(settings)
        ids = set(found) | set(self._supervisors)
        if not ids:
            return
        async with self._maker() as db:
            rows = await repo.lifecycles(db, ids)
            await db.commit()
        for ws_id, sup in list(self._supervisors.items()):
            if should_run(rows.get(ws_id)):
                rotate(sup.dirs.log)
            else:
                await self._stop(ws_id, settings, "the workspace should not run")
        mine = database_fingerprint(settings)
        now = time.time()
        for ws_id, dirs in found.items():
            row = rows.get(ws_id)
            if should_run(row) or (row is None and dirs.meta().get("database") != mine):
                continue  # wanted, or another zenpro database's directory
            await self._stop(ws_id, settings, "the workspace should not run")
            if row is None or row.status == Status.deleted:
                since = row.status_updated.timestamp() if row else dirs.gone_since()
                if now - since >= settings.local_delete_grace_seconds:
                    self._remove(dirs)

    # -- supervisors ----------------------------------------------------------------------

    def _claim(self, ws: Workspace, settings: Settings) -> Supervisor | None:
        """Take the workspace's lock and supervise its server (adopting a running one), or
        None when another process holds the lock."""
        dirs = ServerDir.of(settings, ws.id)
        dirs.create()
        lock = Lock.try_acquire(dirs.lock)
        if lock is None:
            return None
        dirs.write_meta(workspace_id=str(ws.id), database=database_fingerprint(settings))
        sup = Supervisor(dirs, lock, self._policy or RestartPolicy.of(settings))
        record = dirs.record()
        if record is not None and processes.alive(record.pid, record.ticks):
            sup.adopt(record)
        elif record is not None:
            dirs.clear_record()
        self._supervisors[ws.id] = sup
        return sup

    def _drop(self, ws_id: uuid.UUID) -> None:
        sup = self._supervisors.pop(ws_id, None)
        if sup is not None:
            sup.release()

    async def _launch(self, ws: Workspace, dirs: ServerDir, settings: Settings) -> Launch:
        """A fresh credential (its hash stored first, so the server can log in with it),
        a port (the last one when it is free: clients keep the server's URL), and the
        command and environment."""
        secret = new_secret(ENROLLMENT_PREFIX)
        key_hash = hash_secret(secret)
        async with self._maker() as db:
            org = await org_repo.get(db, ws.organization_id)
            if org is None or not await repo.set_enrollment_key(db, ws.id, key_hash):
                raise RuntimeError("the workspace no longer exists")
            await db.commit()
            org_name = org.name
        last = dirs.meta().get("port")
        port = last if isinstance(last, int) and processes.port_free(last) else None
        port = port or processes.free_port()
        pro = pro_env_for(
            settings,
            client_secret=secret,
            organization_id=str(ws.organization_id),
            organization_name=org_name,
            workspace_id=str(ws.id),
            workspace_name=ws.name,
        )
        env = server_env(settings, dirs, port, pro)
        argv = self._runtime.argv(settings, port)
        return Launch(argv, env, port, key_hash, settings.zenml_version)

    async def _stop(self, ws_id: uuid.UUID, settings: Settings, why: str) -> None:
        """Stop the workspace's server, whoever supervises it (found by its record)."""
        sup = self._supervisors.pop(ws_id, None)
        if sup is not None:
            await sup.stop(why)
            sup.release()
            return
        dirs = ServerDir.of(settings, ws_id)
        record = dirs.record()
        if record is None or not processes.alive(record.pid, record.ticks):
            return
        await processes.stop(record.pid, record.ticks)
        log.info("stopped server pid %s of workspace %s: %s", record.pid, ws_id, why)
        lock = Lock.try_acquire(dirs.lock)
        if lock is not None:  # nobody supervises it: the record is ours to clear
            dirs.clear_record()
            lock.release()

    def _remove(self, dirs: ServerDir) -> None:
        lock = Lock.try_acquire(dirs.lock)
        if lock is None:
            return  # someone still supervises it; a later pass removes it
        try:
            record = dirs.record()
            if record is None or not processes.alive(record.pid, record.ticks):
                dirs.remove()
                log.info("removed %s (deleted workspace, grace period over)", dirs.root)
        finally:
            lock.release()

    def close(self) -> None:
        """Give up every lock; the servers keep running (the next zenpro adopts them)."""
        for ws_id in list(self._supervisors):
            self._drop(ws_id)
