"""glibc malloc tuning for a long-running server process."""

from __future__ import annotations

import ctypes

_M_ARENA_MAX = -8


def tune_malloc() -> None:
    """Keep the number of malloc arenas small (measured in bench/NOTES.md).

    Every thread that allocates may get its own arena (hashing threads, the default
    executor), and an arena keeps what it once held: two are plenty for one event loop plus
    a small hashing pool. Argon2's 19 MiB block stays resident in its arena between hashes
    (glibc's dynamic mmap threshold); forcing it back to ``mmap`` on every hash made each
    login fault in 19 MiB of fresh pages and cut hashing throughput by a third.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to tune
        return
    libc.mallopt(_M_ARENA_MAX, 2)
