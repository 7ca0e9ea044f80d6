"""All SQL of single sign-on."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.models import Invitation, OIDCFlow, OIDCIdentity, Organization, User


async def add_flow(db: AsyncSession, flow: OIDCFlow, now: datetime) -> None:
    # Sign-ins started and never finished are swept here: no background job needed.
    await db.execute(
        delete(OIDCFlow).where(OIDCFlow.expires <= now).execution_options(synchronize_session=False)
    )
    db.add(flow)
    await db.flush()


async def take_flow(db: AsyncSession, state_hash: str) -> OIDCFlow | None:
    """The flow of this ``state``, deleted in the same statement: of two callbacks with
    one state, only one gets it (single use)."""
    stmt = (
        delete(OIDCFlow)
        .where(OIDCFlow.state_hash == state_hash)
        .returning(OIDCFlow)
        .execution_options(synchronize_session=False)
    )
    return (await db.execute(stmt)).scalars().first()


async def identity(db: AsyncSession, provider: str, subject: str) -> OIDCIdentity | None:
    stmt = select(OIDCIdentity).where(
        OIDCIdentity.provider == provider, OIDCIdentity.subject == subject
    )
    return await db.scalar(stmt)


async def user(db: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await db.get(User, user_id, populate_existing=True)


async def user_by_email(db: AsyncSession, email: str) -> User | None:
    stmt = select(User).where(func.lower(User.email) == email.lower()).limit(1)
    return await db.scalar(stmt)


async def username_taken(db: AsyncSession, username: str) -> bool:
    stmt = select(User.id).where(func.lower(User.username) == username.lower()).limit(1)
    return (await db.scalar(stmt)) is not None


async def pending_invitations(
    db: AsyncSession, email: str, now: datetime
) -> list[tuple[Invitation, Organization]]:
    stmt: Any = (
        select(Invitation, Organization)
        .join(Organization, Organization.id == Invitation.organization_id)
        .where(
            func.lower(Invitation.email) == email.lower(),
            Invitation.accepted.is_(False),
            Invitation.expires > now,
        )
        .order_by(Invitation.created, Invitation.id)
    )
    return [(i, o) for i, o in (await db.execute(stmt)).all()]
