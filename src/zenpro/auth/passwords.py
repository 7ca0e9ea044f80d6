"""Argon2id password hashing, off the event loop and with bounded concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any, TypeVar

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from zenpro.config import get_settings

T = TypeVar("T")
MIN_LENGTH = 8
MAX_LENGTH = 256

# OWASP minimum for Argon2id: m=19 MiB, t=2, p=1.
_hasher = PasswordHash((Argon2Hasher(time_cost=2, memory_cost=19 * 1024, parallelism=1),))


@lru_cache
def _limiter() -> asyncio.Semaphore:
    return asyncio.Semaphore(get_settings().password_hash_concurrency)


@lru_cache
def _executor() -> ThreadPoolExecutor:
    # Own small pool: Argon2 needs 19 MiB per hash, and every thread that ever hashed keeps
    # a malloc arena of that size; a bounded pool bounds the process's memory too.
    return ThreadPoolExecutor(
        max_workers=get_settings().password_hash_concurrency, thread_name_prefix="argon2"
    )


async def _run(fn: Callable[..., T], *args: Any) -> T:
    async with _limiter():
        return await asyncio.get_running_loop().run_in_executor(_executor(), fn, *args)


@lru_cache
def _dummy_hash() -> str:
    return _hasher.hash("zenpro-dummy-password-for-timing")


async def hash_password(password: str) -> str:
    return await _run(_hasher.hash, password)


async def verify_password(password: str, hashed: str | None) -> bool:
    """Check a password. With no hash (unknown user) a dummy hash is verified anyway,
    so that the answer and its timing do not reveal whether the account exists."""
    target = hashed or _dummy_hash()
    ok = await _run(_hasher.verify, password, target)
    return ok and hashed is not None


def reset_limiter() -> None:
    """A new event loop (tests) needs a new semaphore."""
    _limiter.cache_clear()
