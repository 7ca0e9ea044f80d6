"""Device authorization (RFC 8628) rules: start, poll, approve or deny, revoke.

The device code is a ≥256-bit secret stored hashed; the short user code is only usable
while the flow is pending and unexpired, by a logged-in user. An approved device gets a
stored token (kind ``device``) valid for its whole ``expires_in`` (no idle expiry), so
it survives restarts; revoking the device deletes its tokens.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.auth import repository as repo
from zenpro.auth.principal import Credential
from zenpro.auth.secrets import hash_secret, new_secret, new_user_code
from zenpro.auth.service import Issued, issue_token
from zenpro.config import Settings
from zenpro.errors import NotFound, Unavailable
from zenpro.kit.db import utcnow
from zenpro.models import Device, Workspace

DEVICE_CODE_PREFIX = "zpd_"
# Polls closer together than this share of the interval answer slow_down (network jitter).
POLL_TOLERANCE = 0.8


class DeviceGrantError(Exception):
    """A device-poll failure; rendered with only the OAuth error keys ([wire])."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def normalize_user_code(raw: str) -> str:
    """``abcd efgh``, ``ABCD-EFGH`` and ``abcdefgh`` all name the same code."""
    chars = re.sub(r"[^A-Za-z]", "", raw).upper()
    return f"{chars[:4]}-{chars[4:]}" if len(chars) == 8 else chars


async def start(
    db: AsyncSession,
    settings: Settings,
    client_id: uuid.UUID,
    device_id: uuid.UUID | None,
    *,
    user_agent: str | None,
    ip: str | None,
) -> tuple[Device, str]:
    """A new pending flow. A known ``device_id`` of the same client is re-authorized in
    place (the CLI sends it back on re-login), so the device list does not grow."""
    code = new_secret(DEVICE_CODE_PREFIX)
    now = utcnow()
    device = await repo.get_device(db, device_id) if device_id else None
    if device is None or device.client_id != str(client_id):
        device = Device(client_id=str(client_id), created=now)
        db.add(device)
    device.device_code_hash = hash_secret(code)
    device.user_code = await _unused_user_code(db, now)
    device.status = "pending"
    device.expires = now + timedelta(minutes=settings.device_code_minutes)
    device.interval = settings.device_interval_seconds
    device.last_poll = None
    device.user_agent = (user_agent or "")[:512] or None
    device.ip = ip
    await db.flush()
    return device, code


async def _unused_user_code(db: AsyncSession, now: datetime) -> str:
    """A user code no pending flow holds (8 letters of 20: a clash is rare, but a clash
    would let one person's approval reach another's CLI)."""
    for _ in range(10):
        candidate = new_user_code()
        if not await repo.pending_devices_by_user_code(db, candidate, now):
            return candidate
    raise Unavailable("Could not allocate a device code; retry", retry_after=1)


async def poll(
    db: AsyncSession, settings: Settings, client_id: str, device_code: str
) -> tuple[Issued, Device]:
    """One CLI poll. Raises ``DeviceGrantError`` for every answer but success; the
    caller must still commit (``last_poll`` drives ``slow_down``)."""
    device = await repo.device_by_code(db, hash_secret(device_code))
    if device is None or device.client_id != client_id:
        raise DeviceGrantError("invalid_grant", "Unknown device code")
    now = utcnow()
    if device.status == "denied":
        raise DeviceGrantError("access_denied", "The user denied this device")
    if device.status == "pending":
        if device.expires <= now:
            raise DeviceGrantError("expired_token", "The device code expired; log in again")
        previous, device.last_poll = device.last_poll, now
        if previous is not None and (now - previous) < timedelta(
            seconds=device.interval * POLL_TOLERANCE
        ):
            raise DeviceGrantError("slow_down", f"Poll at most every {device.interval} s")
        raise DeviceGrantError("authorization_pending", "Waiting for the user to approve")
    if device.status != "approved" or device.user_id is None:
        raise DeviceGrantError("invalid_grant", "This device code was already used")
    user = await repo.user_by_id(db, device.user_id)
    if user is None or not user.is_active:
        raise DeviceGrantError("access_denied", "The approving account is deactivated")
    device.status = "active"
    device.last_poll = now
    issued = await issue_token(
        db,
        Credential.device,
        timedelta(minutes=settings.token_lifetime_minutes),
        user_id=user.id,
        device_id=device.id,
        user_agent=device.user_agent,
        ip=device.ip,
    )
    return issued, device


async def pending(db: AsyncSession, user_code: str) -> Device | None:
    found = await repo.pending_devices_by_user_code(db, normalize_user_code(user_code), utcnow())
    # Two pending flows with one code (only if two allocations raced): approve neither.
    return found[0] if len(found) == 1 else None


async def decide(
    db: AsyncSession,
    device: Device,
    user_id: uuid.UUID,
    workspace: Workspace | None,
    *,
    approve: bool,
) -> None:
    device.user_id = user_id
    device.status = "approved" if approve else "denied"
    device.workspace_id = workspace.id if workspace else None
    await db.flush()


async def list_mine(db: AsyncSession, user_id: uuid.UUID) -> list[Device]:
    return await repo.user_devices(db, user_id)


def mine_stmt(user_id: uuid.UUID) -> Select[Device]:
    """The user's devices, for a paged list (by ``created, id``)."""
    return repo.devices_stmt(user_id)


async def revoke(db: AsyncSession, user_id: uuid.UUID, device_id: uuid.UUID) -> None:
    device = await repo.get_device(db, device_id)
    if device is None or device.user_id != user_id:
        raise NotFound(f"Device {device_id} not found")
    await repo.delete_device(db, device.id)
