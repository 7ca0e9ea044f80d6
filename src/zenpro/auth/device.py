"""Device authorization flow (RFC 8628): /auth/device_authorization and /devices/verify."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["auth"])
