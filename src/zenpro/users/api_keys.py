"""/users/me/api_keys: personal access tokens."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["api keys"])
