"""All SQL about users."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.authz.membership import org_ids_of, user_ids_in_orgs
from zenpro.models import Organization, User


async def count_users(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(User)) or 0)


async def get(db: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await db.get(User, user_id)


async def exists(
    db: AsyncSession, *, username: str | None = None, email: str | None = None
) -> bool:
    conds = []
    if username is not None:  # unique ignoring case (uq_users_username_lower)
        conds.append(func.lower(User.username) == username.lower())
    if email is not None:
        conds.append(func.lower(User.email) == email.lower())
    if not conds:
        return False
    return (await db.scalar(select(User.id).where(*conds).limit(1))) is not None


def visible_to(viewer_id: uuid.UUID) -> Select[Any]:
    """Users who share an organization with ``viewer_id``, and the viewer."""
    return select(User).where(
        (User.id == viewer_id) | User.id.in_(user_ids_in_orgs(org_ids_of(viewer_id)))
    )


def list_stmt(
    viewer_id: uuid.UUID | None,
    *,
    email: str | None,
    username: str | None,
    name: str | None,
    is_service_account: bool | None,
) -> Select[Any]:
    stmt = select(User) if viewer_id is None else visible_to(viewer_id)
    if email is not None:
        stmt = stmt.where(func.lower(User.email) == email.lower())
    if username is not None:
        stmt = stmt.where(User.username == username)
    if name is not None:
        stmt = stmt.where(User.name.ilike(f"%{_escape_like(name)}%", escape="\\"))
    if is_service_account is not None:
        stmt = stmt.where(User.is_service_account == is_service_account)
    return stmt


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def is_visible(db: AsyncSession, viewer_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    stmt = visible_to(viewer_id).where(User.id == user_id).with_only_columns(User.id)
    return (await db.scalar(stmt)) is not None


async def owns_organizations(db: AsyncSession, user_id: uuid.UUID) -> bool:
    stmt = select(Organization.id).where(Organization.owner_id == user_id).limit(1)
    return (await db.scalar(stmt)) is not None


async def count_active_superusers(db: AsyncSession) -> int:
    stmt = select(func.count()).select_from(User).where(User.is_superuser, User.is_active)
    return int(await db.scalar(stmt) or 0)
