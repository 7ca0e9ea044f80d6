"""API keys (``ZENPROKEY_…``): personal access tokens and service-account keys.

The secret is shown once and stored only as a SHA-256 hash plus a short hint. A rotation
keeps the previous hash working for a retention period; deactivating, deleting or
expiring a key also ends the access tokens exchanged from its owner's keys.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.auth import repository as repo
from zenpro.auth.schemas import APIKeyCreate, APIKeyRotate, APIKeyUpdate
from zenpro.auth.secrets import API_KEY_PREFIX, hash_secret, hint, new_secret
from zenpro.errors import NotFound
from zenpro.kit.db import utcnow
from zenpro.kit.repository import flush_or_conflict
from zenpro.models import APIKey


@dataclass(frozen=True)
class NewKey:
    """A key row and its secret, for the one response that shows it."""

    key: APIKey
    secret: str


async def list_keys(db: AsyncSession, user_id: uuid.UUID) -> list[APIKey]:
    return await repo.list_api_keys(db, user_id)


async def get_key(db: AsyncSession, user_id: uuid.UUID, key_id: uuid.UUID) -> APIKey:
    key = await repo.get_api_key(db, user_id, key_id)
    if key is None:
        raise NotFound(f"API key {key_id} not found")
    return key


async def create_key(db: AsyncSession, user_id: uuid.UUID, data: APIKeyCreate) -> NewKey:
    secret = new_secret(API_KEY_PREFIX)
    now = utcnow()
    key = APIKey(
        user_id=user_id,
        name=data.name,
        description=data.description,
        key_hash=hash_secret(secret),
        hint=hint(secret),
        active=True,
        expires=now + timedelta(minutes=data.expires_in_minutes)
        if data.expires_in_minutes
        else None,
        created=now,
        updated=now,
    )
    db.add(key)
    await flush_or_conflict(db, "Could not store the key; retry")
    return NewKey(key, secret)


async def update_key(
    db: AsyncSession, user_id: uuid.UUID, key_id: uuid.UUID, data: APIKeyUpdate
) -> APIKey:
    key = await get_key(db, user_id, key_id)
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is not None:
        key.name = changes["name"]
    if "description" in changes:
        key.description = changes["description"]
    if changes.get("expires_in_minutes") is not None:
        key.expires = utcnow() + timedelta(minutes=changes["expires_in_minutes"])
    if changes.get("active") is not None:
        key.active = changes["active"]
        if not key.active:
            await repo.delete_key_tokens(db, key.id)
    key.updated = utcnow()
    await db.flush()
    return key


async def delete_key(db: AsyncSession, user_id: uuid.UUID, key_id: uuid.UUID) -> None:
    key = await get_key(db, user_id, key_id)
    await repo.delete_key_tokens(db, key.id)
    await db.delete(key)
    await db.flush()


async def rotate_key(
    db: AsyncSession, user_id: uuid.UUID, key_id: uuid.UUID, data: APIKeyRotate
) -> NewKey:
    """A new secret; the old one keeps working for ``retain_period_minutes`` (0: stops)."""
    key = await get_key(db, user_id, key_id)
    secret = new_secret(API_KEY_PREFIX)
    now = utcnow()
    if data.retain_period_minutes > 0:
        key.previous_key_hash = key.key_hash
        key.previous_expires = now + timedelta(minutes=data.retain_period_minutes)
    else:
        key.previous_key_hash = None
        key.previous_expires = None
        await repo.delete_key_tokens(db, key.id)
    key.key_hash = hash_secret(secret)
    key.hint = hint(secret)
    if data.expires_in_minutes is not None:
        key.expires = now + timedelta(minutes=data.expires_in_minutes)
    key.updated = now
    await flush_or_conflict(db, "Could not store the key; retry")
    return NewKey(key, secret)
