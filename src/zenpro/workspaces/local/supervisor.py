"""One server's life, in the zenpro process that holds its workspace's lock.

    idle ──start──▶ starting ──answers──▶ ready
      ▲                │ exits / no answer      │ exits / stops answering
      │                ▼ in start_timeout       ▼
      └── waiting (backoff) ◀── failure ──▶ failed (after max_failures in a row)

``step`` is called once per reconciler pass and answers an ``Outcome``: pending (starting,
or waiting to restart), available, or failed with the reason and the end of the log. The
backoff doubles from ``backoff`` up to ``backoff_max``; a server that has run well for
``healthy_reset`` seconds starts its failure count afresh. A server found running when the
lock was taken (its supervisor died; zenpro restarted) is adopted, not started again.

Nothing here knows ZenML or the database: what to start comes from ``launch``, whether it
answers from ``probe`` (``server.py`` has both for ZenML; the tests use a stand-in).
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from zenpro.config import Settings
from zenpro.workspaces.lifecycle import Outcome
from zenpro.workspaces.local import processes
from zenpro.workspaces.local.files import Lock, Record, ServerDir, tail
from zenpro.workspaces.schemas import Status

log = logging.getLogger("zenpro.workspaces.local")
REASON_MAX = 1024  # workspaces.state_reason
TAIL_IN_REASON = 12


@dataclass(frozen=True)
class RestartPolicy:
    backoff: float = 2.0
    backoff_max: float = 60.0
    max_failures: int = 5
    start_timeout: float = 180.0  # a fresh ZenML server takes ~5-10 s (README)
    healthy_reset: float = 600.0
    probe_every: float = 10.0  # once ready; while starting, every step probes
    unanswered: int = 3  # probes in a row a ready server may miss before it is restarted

    @classmethod
    def of(cls, settings: Settings) -> RestartPolicy:
        return cls(
            backoff=settings.local_restart_backoff_seconds,
            backoff_max=settings.local_restart_backoff_max_seconds,
            max_failures=settings.local_max_failures,
        )

    def delay(self, failures: int) -> float:
        """Seconds to wait before restart number ``failures`` (1, 2, …)."""
        return float(min(self.backoff * 2 ** max(0, failures - 1), self.backoff_max))


@dataclass(frozen=True)
class Launch:
    """One start of a server: its command line and environment (which holds the secret:
    it is handed to the process and dropped), and what its record keeps."""

    argv: list[str]
    env: dict[str, str] = field(repr=False)
    port: int
    key_hash: str
    version: str


# probe(port) → the server's /info as a dict when it answers as this workspace, else None
Probe = Callable[[int], Awaitable[dict[str, Any] | None]]
Launcher = Callable[[], Awaitable[Launch]]


def _stamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


def clip(reason: str, tail_text: str = "") -> str:
    """A state_reason: the reason, then as much of the log's end as fits."""
    if not tail_text:
        return reason[:REASON_MAX]
    room = REASON_MAX - len(reason) - len("\nLast log lines:\n")
    if room < 80:
        return reason[:REASON_MAX]
    return f"{reason}\nLast log lines:\n{tail_text[-room:]}"


class Supervisor:
    """Supervises one workspace's server while holding its lock (``release`` gives it up
    and leaves the server running, for whoever takes the lock next)."""

    def __init__(
        self,
        dirs: ServerDir,
        lock: Lock,
        policy: RestartPolicy,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.dirs, self.lock, self.policy, self.clock = dirs, lock, policy, clock
        self.name = dirs.root.name  # the workspace id, for the log
        self.state = "idle"
        self.proc: subprocess.Popen[bytes] | None = None  # None when adopted
        self.record: Record | None = None
        self.failures = 0
        self.since = clock()  # when the current state began
        self.until = 0.0  # waiting: restart at
        self.reason = ""
        self.last_probe = 0.0
        self.missed = 0
        self.info: dict[str, Any] = {}

    # -- what runs --------------------------------------------------------------------

    def adopt(self, record: Record) -> None:
        """A server someone started is running: supervise it from here ("starting" until
        it answers, so a hung one is still restarted after start_timeout)."""
        self.record = record
        self._enter("starting", f"Adopted the ZenML server on port {record.port}")
        log.info("workspace %s: adopted server pid %s, port %s", self.name, record.pid, record.port)

    def _start(self, launch: Launch) -> None:
        with self.dirs.log.open("ab") as out:  # O_APPEND: rotation may truncate under it
            out.write(
                f"{_stamp()} --- zenpro: starting the server on port {launch.port}\n".encode()
            )
            out.flush()
            self.proc = subprocess.Popen(  # noqa: S603 - our own argv, no shell
                launch.argv,
                env=launch.env,
                cwd=self.dirs.root,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group; survives zenpro; no Ctrl-C
                close_fds=True,
            )
        ticks = processes.identity(self.proc.pid)
        self.record = Record(
            self.proc.pid, ticks or 0, launch.port, launch.key_hash, launch.version, time.time()
        )
        self.dirs.write_record(self.record)
        self.dirs.write_meta(port=launch.port)
        self._enter("starting", f"Starting the ZenML server on port {launch.port}")
        log.info(
            "workspace %s: started server pid %s, port %s", self.name, self.proc.pid, launch.port
        )

    def _gone(self) -> str | None:
        """Why the server is no longer running, or None while it runs."""
        if self.record is None:
            return None
        if self.proc is not None:
            code = self.proc.poll()
            return None if code is None else f"exited with code {code}"
        if processes.alive(self.record.pid, self.record.ticks):
            return None
        return f"(pid {self.record.pid}) is gone"

    async def stop(self, why: str) -> None:
        """Stop the server (not a failure) and forget it; the supervisor stays idle."""
        record, proc = self.record, self.proc
        if record is not None:
            await processes.stop(record.pid, record.ticks, proc)
            self._note(f"stopped the server ({why})")
            log.info("workspace %s: stopped server pid %s: %s", self.name, record.pid, why)
        self._forget()
        self._enter("idle", "")

    def release(self) -> None:
        self.lock.release()

    # -- the step -----------------------------------------------------------------------

    async def step(self, launch: Launcher, probe: Probe) -> Outcome:
        now = self.clock()
        gone = self._gone()
        if gone is not None:
            return self._failure(f"The ZenML server {gone}", now)
        if self.state == "failed":
            return Outcome(Status.failed, reason=self.reason)
        if self.state == "waiting":
            if now < self.until:
                return Outcome(Status.pending, reason=self.reason)
            self._enter("idle", "")
        if self.state == "idle":
            self._start(await launch())
            return Outcome(Status.pending, reason=self.reason)
        assert self.record is not None
        if self.state == "starting":
            return await self._starting(probe, now)
        return await self._ready(probe, now)

    async def _starting(self, probe: Probe, now: float) -> Outcome:
        assert self.record is not None
        info = await probe(self.record.port)
        if info is not None:
            self.info, self.last_probe, self.missed = info, now, 0
            self._enter("ready", "")
            return self._available()
        if now - self.since > self.policy.start_timeout:
            await self._kill()
            return self._failure(
                f"The ZenML server did not answer within {self.policy.start_timeout:g} s", now
            )
        return Outcome(Status.pending, reason=self.reason)

    async def _ready(self, probe: Probe, now: float) -> Outcome:
        assert self.record is not None
        if self.failures and now - self.since > self.policy.healthy_reset:
            self.failures = 0
        if now - self.last_probe >= self.policy.probe_every:
            self.last_probe = now
            info = await probe(self.record.port)
            self.missed = 0 if info is not None else self.missed + 1
            self.info = info or self.info
            if self.missed >= self.policy.unanswered:
                await self._kill()
                return self._failure("The ZenML server stopped answering", now)
        return self._available()

    def _available(self) -> Outcome:
        assert self.record is not None
        version = str(self.info.get("version") or self.record.version)
        return Outcome(Status.available, f"http://127.0.0.1:{self.record.port}", version)

    async def _kill(self) -> None:
        if self.record is not None:
            await processes.stop(self.record.pid, self.record.ticks, self.proc, grace=2)

    def _failure(self, what: str, now: float) -> Outcome:
        self.failures += 1
        self._note(f"{what} (failure {self.failures} of {self.policy.max_failures})")
        log.warning("workspace %s: %s (failure %s)", self.name, what, self.failures)
        self._forget()
        if self.failures >= self.policy.max_failures:
            reason = (
                f"{what}; it failed {self.failures} times in a row and is not restarted: "
                "ask for `available` again to retry"
            )
            self._enter("failed", clip(reason, tail(self.dirs.log, TAIL_IN_REASON)))
            return Outcome(Status.failed, reason=self.reason)
        delay = self.policy.delay(self.failures)
        self.until = now + delay
        nth = f"failure {self.failures} of {self.policy.max_failures}"
        self._enter("waiting", f"{what}; restarting in {delay:g} s ({nth})")
        return Outcome(Status.pending, reason=self.reason)

    # -- bookkeeping --------------------------------------------------------------------

    def _enter(self, state: str, reason: str) -> None:
        self.state, self.reason, self.since = state, reason, self.clock()

    def _forget(self) -> None:
        self.proc, self.record = None, None
        self.dirs.clear_record()

    def _note(self, line: str) -> None:
        """A line of zenpro's own in the server's log (what the console shows admins)."""
        try:
            with self.dirs.log.open("ab") as out:
                out.write(f"{_stamp()} --- zenpro: {line}\n".encode())
        except OSError:
            pass
