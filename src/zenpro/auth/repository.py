"""All SQL about credentials: tokens and their owners."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.models import APIKey, Token, User, Workspace


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


async def delete_user_tokens(db: AsyncSession, user_id: uuid.UUID) -> None:
    await db.execute(delete(Token).where(Token.user_id == user_id))


async def user_sessions(db: AsyncSession, user_id: uuid.UUID, now: datetime) -> list[Token]:
    stmt = (
        select(Token)
        .where(Token.user_id == user_id, Token.expires > now)
        .order_by(Token.created, Token.id)
    )
    return list((await db.scalars(stmt)).all())


async def get_user_token(db: AsyncSession, user_id: uuid.UUID, token_id: uuid.UUID) -> Token | None:
    stmt = select(Token).where(Token.id == token_id, Token.user_id == user_id)
    return (await db.scalars(stmt)).first()


async def user_by_username(db: AsyncSession, username: str) -> User | None:
    return (await db.scalars(select(User).where(User.username == username))).first()
