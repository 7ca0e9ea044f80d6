"""Service accounts: organization-owned users that authenticate only with API keys.

A service account is a ``User`` with ``is_service_account``, its ``organization_id``, no
password and no email. It is made an Organization Member on creation so it belongs to
its organization; workspace roles are assigned like any user's.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.auth import repository as auth_repo
from zenpro.authz import granting
from zenpro.authz.access import Access
from zenpro.authz.checker import load_user_grants
from zenpro.authz.vocabulary import ORG_MEMBER_ID
from zenpro.errors import Conflict, NotFound, flush_or_conflict
from zenpro.kit.db import utcnow
from zenpro.models import RoleAssignment, User
from zenpro.rbac import repository as rbac_repo
from zenpro.rbac import service as rbac
from zenpro.service_accounts.schemas import ServiceAccountCreate, ServiceAccountUpdate


def list_stmt(org_id: uuid.UUID) -> Select[User]:
    """The organization's service accounts (unordered: by ``created, id`` for a list)."""
    return select(User).where(User.organization_id == org_id, User.is_service_account.is_(True))


async def list_in(db: AsyncSession, org_id: uuid.UUID) -> list[User]:
    stmt = list_stmt(org_id).order_by(User.created, User.id)
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
    """Service-account names share the users' namespace (unique ignoring case). The
    answer does not say by whom a name is taken: that would reveal other tenants' users."""
    taken = select(User.id).where(func.lower(User.username) == name.lower())
    if (await db.scalar(taken)) is not None:
        raise Conflict(f"The name {name!r} is not available; choose another")


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
    db.add(RoleAssignment.grant(ORG_MEMBER_ID, organization_id=org_id, user_id=sa.id))
    await flush_or_conflict(db, "Could not make the service account a member")
    return sa


async def require_may_act_for(db: AsyncSession, access: Access, sa: User) -> None:
    """A key for a service account acts with everything the account holds, so minting,
    rotating or reactivating one requires holding all of that (``authz.granting``)."""
    what = f"the service account {sa.username!r}"
    granting.require_subject(access.grants, await load_user_grants(db, sa.id), what)
    shares = await rbac_repo.shares_of(db, user_id=sa.id)
    await rbac.require_may_confer_shares(db, access.user_id, access.grants, shares, what)


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
