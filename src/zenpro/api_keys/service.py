"""API keys (``ZENPROKEY_…``): personal access tokens and service-account keys.

The secret is shown once and stored only as a SHA-256 hash plus a short hint. A rotation
keeps the previous hash working for a retention period.

Lineage: a key created through a delegated credential (a device, API or exchanged token,
or another key) descends from it: it expires no later, and ending the source ends it.
Deactivating a key, deleting it, or rotating it without retention ends everything minted
from it (tokens exchanged from it or minted with it, keys created with it), transitively.
A key created in a browser or password session is a root: it lives until revoked.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.api_keys.schemas import APIKeyCreate, APIKeyRotate, APIKeyUpdate
from zenpro.auth import repository as repo
from zenpro.auth.principal import Credential, UserPrincipal
from zenpro.auth.secrets import API_KEY_PREFIX, hash_secret, hint, new_secret
from zenpro.errors import NotFound, flush_or_conflict
from zenpro.kit.db import utcnow
from zenpro.models import APIKey


@dataclass(frozen=True)
class NewKey:
    """A key row and its secret, for the one response that shows it."""

    key: APIKey
    secret: str


@dataclass(frozen=True)
class Source:
    """What a new key descends from; all None for a root key."""

    token_id: uuid.UUID | None = None
    key_id: uuid.UUID | None = None
    expires: datetime | None = None

    @classmethod
    def of(cls, principal: UserPrincipal) -> Source:
        if not principal.is_delegated:
            return cls()
        key_id = principal.api_key_id if principal.credential is Credential.api_key else None
        token_id = None if key_id is not None else principal.token_id
        return cls(token_id, key_id, principal.expires)


async def list_keys(db: AsyncSession, user_id: uuid.UUID) -> list[APIKey]:
    return await repo.list_api_keys(db, user_id)


def keys_stmt(user_id: uuid.UUID) -> Select[APIKey]:
    """The user's keys, for a paged list (by ``created, id``)."""
    return repo.api_keys_stmt(user_id)


async def get_key(db: AsyncSession, user_id: uuid.UUID, key_id: uuid.UUID) -> APIKey:
    key = await repo.get_api_key(db, user_id, key_id)
    if key is None:
        raise NotFound(f"API key {key_id} not found")
    return key


async def create_key(
    db: AsyncSession, user_id: uuid.UUID, data: APIKeyCreate, source: Source
) -> NewKey:
    secret = new_secret(API_KEY_PREFIX)
    now = utcnow()
    expires = now + timedelta(minutes=data.expires_in_minutes) if data.expires_in_minutes else None
    if source.expires is not None:
        expires = source.expires if expires is None else min(expires, source.expires)
    key = APIKey(
        user_id=user_id,
        name=data.name,
        description=data.description,
        key_hash=hash_secret(secret),
        hint=hint(secret),
        active=True,
        expires=expires,
        source_token_id=source.token_id,
        source_key_id=source.key_id,
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
        wanted = utcnow() + timedelta(minutes=changes["expires_in_minutes"])
        descends = key.source_token_id is not None or key.source_key_id is not None
        # A key that descends from a credential never outlives it: it may only shorten.
        key.expires = min(wanted, key.expires) if descends and key.expires else wanted
    if changes.get("active") is not None:
        key.active = changes["active"]
        if not key.active:
            await repo.end_key_descendants(db, key.id)
    key.updated = utcnow()
    await db.flush()
    return key


async def delete_key(db: AsyncSession, user_id: uuid.UUID, key_id: uuid.UUID) -> None:
    key = await get_key(db, user_id, key_id)
    await repo.end_key_descendants(db, key.id)
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
        await repo.end_key_descendants(db, key.id)
    key.key_hash = hash_secret(secret)
    key.hint = hint(secret)
    if data.expires_in_minutes is not None:
        key.expires = now + timedelta(minutes=data.expires_in_minutes)
    key.updated = now
    await flush_or_conflict(db, "Could not store the key; retry")
    return NewKey(key, secret)
