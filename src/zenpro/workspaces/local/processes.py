"""Processes by pid, and ports on 127.0.0.1.

A server may be our child, or another zenpro's, or outlive the zenpro that started it, so
it is known by its pid *and* its start time (``/proc/<pid>/stat``): a pid reused by an
unrelated process is never mistaken for it, signalled or adopted. Every server leads its
own process group (``start_new_session``), and is signalled as a group.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

PROC = Path("/proc")
STOP_TIMEOUT = 10.0  # SIGTERM, then SIGKILL after this long


def identity(pid: int) -> int | None:
    """The process' start time in clock ticks since boot; None when it is gone (or a
    zombie). Without /proc (not Linux): 0 for any live pid, so only liveness is known."""
    if not PROC.is_dir():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return 0
        return 0
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # the name may hold spaces and ")"
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])  # field 22 of stat(5): starttime


def alive(pid: int, ticks: int) -> bool:
    return identity(pid) == ticks


def rss_bytes(pid: int) -> int | None:
    """Resident memory of one process (``VmRSS``), None when unknown."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


async def stop(
    pid: int,
    ticks: int,
    proc: subprocess.Popen[bytes] | None = None,
    grace: float = STOP_TIMEOUT,
) -> None:
    """Stop the server ``pid`` (if it is still the process started at ``ticks``): SIGTERM
    to its group, SIGKILL after ``grace`` seconds; returns once it is gone. ``proc``:
    our own child, reaped here."""
    if proc is None and not alive(pid, ticks):
        return
    if proc is not None and proc.poll() is not None:
        return
    _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    killed = False
    while _running(pid, ticks, proc):
        if not killed and time.monotonic() > deadline:
            _signal(pid, signal.SIGKILL)
            killed = True
        await asyncio.sleep(0.05)


def _running(pid: int, ticks: int, proc: subprocess.Popen[bytes] | None) -> bool:
    if proc is not None:
        return proc.poll() is None
    return alive(pid, ticks)


def port_free(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:``port`` now (as uvicorn binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
