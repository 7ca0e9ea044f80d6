"""The workspace reconciler: moves status toward desired_state (spec §8)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[None]:
    """Run the reconciler in the background for the app's lifetime (when enabled)."""
    yield
