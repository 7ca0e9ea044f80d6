"""Rate limiting (spec §7): policies, key resolution, storage (memory | Redis), middleware.

See docs/ratelimit.md for the policies, their defaults and the Redis outage behaviour.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI

from zenpro.config import Settings
from zenpro.kit.metrics import Metrics
from zenpro.ratelimit.forms import LoginFormGuard
from zenpro.ratelimit.middleware import RateLimitMiddleware
from zenpro.ratelimit.policies import Policies
from zenpro.ratelimit.storage import Limiter, make_storage

__all__ = ["install"]


def install(app: FastAPI, settings: Settings, metrics: Metrics) -> None:
    """Add the login-form guard and the rate-limit middleware outside it.

    The guard is installed with rate limiting off too: refusing login forms that two
    parsers could read differently is not a matter of budget (``ratelimit.forms``).
    """
    policies = Policies.from_settings(settings)  # a bad limit stops the start, on or off
    app.add_middleware(LoginFormGuard)
    if settings.ratelimit_enabled:
        limiter = Limiter(make_storage(settings), metrics, settings.ratelimit_fail_closed)
        app.state.rate_limiter = limiter
        app.add_middleware(
            RateLimitMiddleware,
            routes=app.router.routes,
            settings=settings,
            policies=policies,
            limiter=limiter,
            metrics=metrics,
            state=app.state,
        )
        _close_on_shutdown(app, limiter)


def _close_on_shutdown(app: FastAPI, limiter: Limiter) -> None:
    """Wrap the app's lifespan so the Redis connections close with the app."""
    inner: Callable[[Any], AbstractAsyncContextManager[Any]] = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        async with inner(application) as state:
            try:
                yield state
            finally:
                await limiter.close()

    app.router.lifespan_context = lifespan
