"""Workspace lifecycle (spec §8): desired_state is what was asked, status is what is.

The reconciler moves status toward desired_state one step at a time, each step a
compare-and-set on ``status`` so that several zenpro instances never double-transition:

    desired available:    not_initialized|deactivated → pending → available (or failed)
    desired deactivated:  anything live → deactivated
    desired deleted:      anything → deleted

``pending → available`` is the provisioner's call (docs/provisioners.md): ``simulated``
(managed workspaces, the default) answers at once with a URL from
``workspace_url_template``; ``local`` (``workspaces.local``) runs a ZenML server per managed
workspace on this host; ``external`` (enrolled workspaces) stays pending until the workspace
server reports through ``PATCH /workspace_status`` (``record_server_status``). A ``failed``
workspace stays failed until the user asks for ``available`` again.

A provisioner that ``supervises`` (``local``) is also asked about every managed workspace
that is ``available``, each pass: a crashed server turns it ``pending`` (restarting) or
``failed``. And every pass ends with its ``sweep``: what it runs or keeps for workspaces
that are deactivated, deleted or gone is stopped, and removed when its time has come.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from zenpro.config import Settings
from zenpro.errors import Conflict, NotFound
from zenpro.models import Workspace
from zenpro.workspaces import repository as repo
from zenpro.workspaces.schemas import Status

log = logging.getLogger("zenpro.workspaces")

WAITING_FOR_SERVER = "Waiting for the workspace server to log in and report its status"


@dataclass(frozen=True)
class Outcome:
    """Where provisioning got to: pending (not yet), available, or failed with a reason."""

    status: Status
    server_url: str | None = None
    version: str | None = None
    reason: str = ""

    @classmethod
    def unchanged(cls, ws: Workspace) -> Outcome:
        """No opinion: the workspace as it is (another process is in charge of it)."""
        return cls(Status(ws.status), ws.server_url, ws.server_version, ws.state_reason)


class Provisioner(Protocol):
    """Runs workspaces (docs/provisioners.md). ``provision`` is called again and again
    until it answers available or failed, so it must be idempotent: start what is not
    started, report what is. ``deactivate`` and ``delete`` return once the server is
    stopped. ``supervises``: ``provision`` is also called for available workspaces, to
    notice a server that died. ``sweep`` ends every reconciler pass."""

    name: str
    supervises: bool

    async def provision(self, ws: Workspace, settings: Settings) -> Outcome: ...

    async def deactivate(self, ws: Workspace, settings: Settings) -> None: ...

    async def delete(self, ws: Workspace, settings: Settings) -> None: ...

    async def sweep(self, settings: Settings) -> None: ...


class SimulatedProvisioner:
    """Managed workspaces for demos and tests: available at once, at a templated URL."""

    name = "simulated"
    supervises = False

    async def provision(self, ws: Workspace, settings: Settings) -> Outcome:
        url = settings.workspace_url_template.format(name=ws.name, id=ws.id)
        return Outcome(Status.available, url, ws.zenml_version or settings.zenml_version)

    async def deactivate(self, ws: Workspace, settings: Settings) -> None:
        return None

    async def delete(self, ws: Workspace, settings: Settings) -> None:
        return None

    async def sweep(self, settings: Settings) -> None:
        return None


class ExternalProvisioner:
    """Enrolled workspaces run elsewhere: available once their server has reported."""

    name = "external"
    supervises = False

    async def provision(self, ws: Workspace, settings: Settings) -> Outcome:
        if ws.server_url:
            return Outcome(Status.available, ws.server_url, ws.server_version)
        return Outcome(Status.pending, reason=WAITING_FOR_SERVER)

    async def deactivate(self, ws: Workspace, settings: Settings) -> None:
        return None

    async def delete(self, ws: Workspace, settings: Settings) -> None:
        return None

    async def sweep(self, settings: Settings) -> None:
        return None


@dataclass
class Provisioners:
    managed: Provisioner = field(default_factory=SimulatedProvisioner)
    external: Provisioner = field(default_factory=ExternalProvisioner)

    def for_workspace(self, ws: Workspace) -> Provisioner:
        return self.managed if ws.is_managed else self.external

    def all(self) -> tuple[Provisioner, ...]:
        return (self.managed,) if self.managed is self.external else (self.managed, self.external)


DEFAULT_PROVISIONERS = Provisioners()


@dataclass(frozen=True)
class Step:
    expected: str
    target: Status
    values: dict[str, Any] = field(default_factory=dict)


async def next_step(ws: Workspace, prov: Provisioner, settings: Settings) -> Step | None:
    """The one next transition toward desired_state, or None when there is nothing to do."""
    status, desired = ws.status, ws.desired_state
    supervised = prov.supervises and status == desired == Status.available
    if status == Status.deleted or (status == desired and not supervised):
        return None
    if desired == "deleted":
        await prov.delete(ws, settings)
        return Step(status, Status.deleted, {"state_reason": ""})
    if desired == "deactivated":
        await prov.deactivate(ws, settings)
        return Step(status, Status.deactivated, {"state_reason": ""})
    if desired != "available" or status == Status.failed:
        return None
    if status in (Status.not_initialized, Status.deactivated):
        return Step(status, Status.pending, {"state_reason": ""})
    outcome = await prov.provision(ws, settings)
    if _same(ws, outcome):
        return None
    values: dict[str, Any] = {"state_reason": outcome.reason}
    if outcome.status == Status.available:
        values.update(server_url=outcome.server_url, server_version=outcome.version)
    return Step(status, outcome.status, values)


def _same(ws: Workspace, outcome: Outcome) -> bool:
    """Nothing to record: the status and reason (and, when available, where and which
    version) are what the row already says."""
    if (outcome.status, outcome.reason) != (ws.status, ws.state_reason):
        return False
    if outcome.status != Status.available:
        return True
    return (outcome.server_url, outcome.version) == (ws.server_url, ws.server_version)


async def _advance(
    db: AsyncSession, ws_id: uuid.UUID, settings: Settings, provisioners: Provisioners
) -> int:
    """Up to a few steps for one workspace, each committed on its own."""
    done = 0
    for _ in range(4):
        ws = await repo.get(db, ws_id)
        # End the read before the provisioner works (it may take seconds, and on SQLite a
        # transaction holds the write lock): the transition below is a compare-and-set.
        await db.commit()
        if ws is None:
            return done
        prov = provisioners.for_workspace(ws)
        try:
            step = await next_step(ws, prov, settings)
        except Exception as exc:  # a provisioner failure is the workspace's, not ours
            log.warning("provisioner %s failed for workspace %s", prov.name, ws_id, exc_info=True)
            step = Step(ws.status, Status.failed, {"state_reason": f"{prov.name}: {exc}"[:1024]})
        if step is None:
            return done
        changed = await repo.compare_and_set(db, ws_id, step.expected, step.target, **step.values)
        await db.commit()
        if not changed or step.target == ws.status:
            return done  # another instance moved it, or only the reason changed
        done += 1
    return done


async def reconcile_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    provisioners: Provisioners = DEFAULT_PROVISIONERS,
) -> int:
    """One pass over every workspace whose status differs from its desired state.
    Returns the number of status transitions made. Errors are logged per workspace.
    Then each provisioner sweeps (stops and removes what is no longer wanted)."""
    async with sessionmaker() as db:
        ids = await repo.needing_work(db, supervised=provisioners.managed.supervises)
        await db.commit()
    count = 0
    for ws_id in ids:
        try:
            async with sessionmaker() as db:
                count += await _advance(db, ws_id, settings, provisioners)
        except Exception:
            log.exception("reconciling workspace %s failed", ws_id)
    for prov in provisioners.all():
        try:
            await prov.sweep(settings)
        except Exception:
            log.exception("provisioner %s: sweep failed", prov.name)
    return count


async def record_server_status(
    db: AsyncSession, workspace_id: uuid.UUID, server_url: str, server_version: str | None
) -> Workspace:
    """What ``PATCH /workspace_status`` records: where the server is and its version.
    A workspace waiting for its server (pending, not_initialized or failed) that should be
    available becomes available. Flushes only; the caller's request commits."""
    for _ in range(3):
        ws = await repo.get(db, workspace_id)
        if ws is None or ws.status == Status.deleted:
            raise NotFound(f"Workspace {workspace_id} not found")
        values = {"server_url": server_url, "server_version": server_version}
        waiting = ws.status in (Status.pending, Status.not_initialized, Status.failed)
        if waiting and ws.desired_state == "available":
            target = Status.available
            values["state_reason"] = ""
        else:
            target = Status(ws.status)
        if await repo.compare_and_set(db, ws.id, ws.status, target, **values):
            refreshed = await repo.get(db, workspace_id)
            assert refreshed is not None
            return refreshed
    raise Conflict("The workspace status changed concurrently; retry")
