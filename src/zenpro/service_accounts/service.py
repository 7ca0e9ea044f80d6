"""Service accounts: organization-owned users that authenticate only with API keys.

A service account is a ``User`` with ``is_service_account``, its ``organization_id``, no
password and no email. It is made an Organization Member on creation so it belongs to
its organization; workspace roles are assigned like any user's.
"""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.auth import repository as auth_repo
from zenpro.authz.vocabulary import ORG_MEMBER_ID
from zenpro.errors import Conflict, NotFound
from zenpro.kit.db import utcnow
from zenpro.kit.repository import flush_or_conflict
from zenpro.models import RoleAssignment, User
from zenpro.service_accounts.schemas import ServiceAccountCreate, ServiceAccountUpdate


async def list_in(db: AsyncSession, org_id: uuid.UUID) -> list[User]:
    stmt = (
        select(User)
        .where(User.organization_id == org_id, User.is_service_account.is_(True))
        .order_by(User.created, User.id)
    )
    return list((await db.scalars(stmt)).all())


async def find(db: AsyncSession, org_id: uuid.UUID, id_or_name: str) -> User:
    """By id or username, only within the organization (elsewhere: 404)."""
    try:
        cond = or_(User.id == uuid.UUID(id_or_name), User.username == id_or_name)
    except ValueError:
        cond = User.username == id_or_name
    stmt = select(User).where(
        cond, User.organization_id == org_id, User.is_service_account.is_(True)
    )
    sa = (await db.scalars(stmt)).first()
    if sa is None:
        raise NotFound(f"Service account {id_or_name!r} not found")
    return sa


async def _name_free(db: AsyncSession, name: str) -> None:
    if (await db.scalar(select(User.id).where(User.username == name))) is not None:
        raise Conflict(f"The name {name!r} is taken by another user or service account")


async def create(db: AsyncSession, org_id: uuid.UUID, data: ServiceAccountCreate) -> User:
    await _name_free(db, data.name)
    now = utcnow()
    sa = User(
        username=data.name,
        name=data.display_name,
        description=data.description,
        email=None,
        password_hash=None,
        is_service_account=True,
        organization_id=org_id,
        metadata_={},
        created=now,
        updated=now,
    )
    db.add(sa)
    await flush_or_conflict(db, f"Service account {data.name!r} already exists")
    db.add(
        RoleAssignment(
            role_id=ORG_MEMBER_ID,
            user_id=sa.id,
            organization_id=org_id,
            scope_key=RoleAssignment.make_scope_key(
                ORG_MEMBER_ID, organization_id=org_id, user_id=sa.id
            ),
        )
    )
    await flush_or_conflict(db, "Could not make the service account a member")
    return sa


async def update(db: AsyncSession, sa: User, data: ServiceAccountUpdate) -> User:
    changes = data.model_dump(exclude_unset=True)
    if changes.get("name") and changes["name"] != sa.username:
        await _name_free(db, changes["name"])
        sa.username = changes["name"]
    if "display_name" in changes:
        sa.name = changes["display_name"]
    if "description" in changes:
        sa.description = changes["description"]
    if changes.get("is_active") is not None:
        sa.is_active = changes["is_active"]
        if not sa.is_active:
            # Keys are refused by resolve(); exchanged tokens are deleted outright.
            await auth_repo.delete_user_tokens(db, sa.id)
    await flush_or_conflict(db, "That name is already in use")
    return sa


async def delete(db: AsyncSession, sa: User) -> None:
    await auth_repo.delete_user_tokens(db, sa.id)
    await db.delete(sa)
    await flush_or_conflict(db, "This service account still owns objects")
