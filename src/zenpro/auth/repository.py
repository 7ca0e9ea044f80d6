"""All SQL about credentials: tokens and their owners."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.models import APIKey, Device, Token, User, Workspace


async def add_token(db: AsyncSession, token: Token) -> Token:
    db.add(token)
    await db.flush()
    return token


async def token_with_owner(
    db: AsyncSession, token_hash: str
) -> tuple[Token, User | None, Workspace | None] | None:
    """One indexed query: the token and whoever it belongs to."""
    stmt = (
        select(Token, User, Workspace)
        .outerjoin(User, User.id == Token.user_id)
        .outerjoin(Workspace, Workspace.id == Token.workspace_id)
        .where(Token.token_hash == token_hash)
    )
    row = (await db.execute(stmt)).first()
    if row is None:
        return None
    return row[0], row[1], row[2]


async def api_key_with_owner(db: AsyncSession, key_hash: str) -> tuple[APIKey, User] | None:
    """The key whose current or (rotated, still retained) previous hash matches."""
    stmt = (
        select(APIKey, User)
        .join(User, User.id == APIKey.user_id)
        .where((APIKey.key_hash == key_hash) | (APIKey.previous_key_hash == key_hash))
    )
    row = (await db.execute(stmt)).first()
    return None if row is None else (row[0], row[1])


async def touch_token(db: AsyncSession, token_id: uuid.UUID, when: datetime) -> None:
    await db.execute(update(Token).where(Token.id == token_id).values(last_used=when))


async def delete_token(db: AsyncSession, token_id: uuid.UUID) -> None:
    await db.execute(delete(Token).where(Token.id == token_id))


async def delete_user_tokens(
    db: AsyncSession, user_id: uuid.UUID, *, keep: uuid.UUID | None = None
) -> None:
    """End every token of the user (but ``keep``); what was minted with them follows by
    ``ON DELETE CASCADE``."""
    stmt = delete(Token).where(Token.user_id == user_id)
    if keep is not None:
        stmt = stmt.where(Token.id != keep)
    await db.execute(stmt)


def sessions_stmt(user_id: uuid.UUID, now: datetime) -> Select[Token]:
    """The user's live sessions and tokens (unordered: by ``created, id`` for a list)."""
    return select(Token).where(Token.user_id == user_id, Token.expires > now)


async def user_sessions(db: AsyncSession, user_id: uuid.UUID, now: datetime) -> list[Token]:
    stmt = sessions_stmt(user_id, now).order_by(Token.created, Token.id)
    return list((await db.scalars(stmt)).all())


async def get_user_token(db: AsyncSession, user_id: uuid.UUID, token_id: uuid.UUID) -> Token | None:
    stmt = select(Token).where(Token.id == token_id, Token.user_id == user_id)
    return (await db.scalars(stmt)).first()


async def user_by_username(db: AsyncSession, username: str) -> User | None:
    """Usernames are unique ignoring case, so ``Alice`` logs in as ``alice``."""
    stmt = select(User).where(func.lower(User.username) == username.lower())
    return (await db.scalars(stmt)).first()


async def user_by_id(db: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await db.get(User, user_id)


# --- API keys -------------------------------------------------------------------------


async def touch_api_key(db: AsyncSession, key_id: uuid.UUID, when: datetime) -> None:
    await db.execute(update(APIKey).where(APIKey.id == key_id).values(last_used=when))


def api_keys_stmt(user_id: uuid.UUID) -> Select[APIKey]:
    """The user's API keys (unordered: by ``created, id`` for a list)."""
    return select(APIKey).where(APIKey.user_id == user_id)


async def list_api_keys(db: AsyncSession, user_id: uuid.UUID) -> list[APIKey]:
    stmt = api_keys_stmt(user_id).order_by(APIKey.created, APIKey.id)
    return list((await db.scalars(stmt)).all())


async def get_api_key(db: AsyncSession, user_id: uuid.UUID, key_id: uuid.UUID) -> APIKey | None:
    stmt = select(APIKey).where(APIKey.id == key_id, APIKey.user_id == user_id)
    return (await db.scalars(stmt)).first()


async def end_key_descendants(db: AsyncSession, key_id: uuid.UUID) -> None:
    """End what was minted from one API key: tokens exchanged from it or minted with it,
    and keys created with it. Their own descendants follow by ``ON DELETE CASCADE``.
    The owner's other credentials stay."""
    await db.execute(delete(Token).where(Token.api_key_id == key_id))
    await db.execute(delete(APIKey).where(APIKey.source_key_id == key_id))


# --- Devices --------------------------------------------------------------------------


async def add_device(db: AsyncSession, device: Device) -> Device:
    db.add(device)
    await db.flush()
    return device


async def get_device(db: AsyncSession, device_id: uuid.UUID) -> Device | None:
    return await db.get(Device, device_id)


async def device_by_code(db: AsyncSession, code_hash: str) -> Device | None:
    stmt = select(Device).where(Device.device_code_hash == code_hash).with_for_update()
    return (await db.scalars(stmt)).first()


async def pending_devices_by_user_code(
    db: AsyncSession, user_code: str, now: datetime
) -> list[Device]:
    stmt = select(Device).where(
        Device.user_code == user_code, Device.status == "pending", Device.expires > now
    )
    return list((await db.scalars(stmt.limit(2))).all())


def devices_stmt(user_id: uuid.UUID) -> Select[Device]:
    """The user's authorized devices (unordered: by ``created, id`` for a list)."""
    return select(Device).where(Device.user_id == user_id)


async def user_devices(db: AsyncSession, user_id: uuid.UUID) -> list[Device]:
    stmt = devices_stmt(user_id).order_by(Device.created, Device.id)
    return list((await db.scalars(stmt)).all())


async def delete_device(db: AsyncSession, device_id: uuid.UUID) -> None:
    await db.execute(delete(Token).where(Token.device_id == device_id))
    await db.execute(delete(Device).where(Device.id == device_id))


# --- Workspaces (as seen by credentials) -----------------------------------------------


async def get_workspace(db: AsyncSession, workspace_id: uuid.UUID) -> Workspace | None:
    return await db.get(Workspace, workspace_id)


async def live_workspaces(db: AsyncSession, ids: set[uuid.UUID] | None) -> list[Workspace]:
    """Workspaces a user may pick on the device page (``None``: all, for superusers)."""
    stmt = select(Workspace).where(Workspace.status.notin_(("deleted", "deactivated")))
    if ids is not None:
        if not ids:
            return []
        stmt = stmt.where(Workspace.id.in_(ids))
    return list((await db.scalars(stmt.order_by(Workspace.name))).all())
