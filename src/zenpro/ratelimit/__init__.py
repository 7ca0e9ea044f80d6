"""Rate limiting (spec §7)."""

from __future__ import annotations

from fastapi import FastAPI

from zenpro.config import Settings


def install(app: FastAPI, settings: Settings) -> None:
    """Add the rate-limit middleware to ``app`` (filled in by the rate-limit work)."""
