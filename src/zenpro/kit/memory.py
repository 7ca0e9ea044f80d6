"""glibc malloc tuning for a long-running server process."""

from __future__ import annotations

import ctypes

_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8


def tune_malloc() -> None:
    """Keep the resident set small and flat (measured in bench/NOTES.md).

    - Argon2 allocates 19 MiB per hash. After the first such block is freed glibc raises
      its mmap threshold, so later ones come from heaps and stay resident; a fixed
      threshold keeps large blocks mmapped, returned to the OS when freed.
    - Every thread that allocates gets its own arena (hashing threads, the default
      executor); two arenas are plenty for one event loop plus a small hashing pool.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to tune
        return
    libc.mallopt(_M_MMAP_THRESHOLD, 1024 * 1024)
    libc.mallopt(_M_ARENA_MAX, 2)
