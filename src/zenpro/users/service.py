"""User rules: bootstrap, visibility, self-service and administration."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.auth import repository as auth_repo
from zenpro.auth.passwords import hash_password, verify_password
from zenpro.auth.principal import Principal, UserPrincipal
from zenpro.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotAuthenticated,
    NotFound,
    flush_or_conflict,
)
from zenpro.kit.cache import AUTH
from zenpro.kit.db import apply_changes
from zenpro.kit.lookup import Lookup
from zenpro.models import User
from zenpro.users import repository as repo
from zenpro.users.schemas import UserCreate, UserRead, UserUpdateAdmin, UserUpdateMe


async def create_user(db: AsyncSession, data: UserCreate, actor: Principal | None) -> User:
    """Superusers create users; the very first user ever may be created by anyone
    and becomes a superuser (bootstrap)."""
    first = await repo.count_users(db) == 0
    if not first and (actor is None or not actor.is_superuser):
        if actor is None:
            raise NotAuthenticated()
        raise Forbidden("Only a superuser may create users")
    await _ensure_unique(db, username=data.username, email=data.email)
    user = User(
        username=data.username,
        email=data.email,
        email_verified=data.email is not None,  # set by a superuser (or the bootstrap)
        name=data.name,
        password_hash=await hash_password(data.password),
        is_superuser=data.is_superuser or first,
        metadata_={},
    )
    db.add(user)
    await flush_or_conflict(db, f"User {data.username!r} already exists")
    return user


async def _ensure_unique(
    db: AsyncSession, *, username: str | None = None, email: str | None = None
) -> None:
    # Neither message repeats the value: the answer says "taken", not whose.
    if username is not None and await repo.exists(db, username=username):
        raise Conflict("That username is taken (usernames are unique ignoring case)")
    if email is not None and await repo.exists(db, email=email):
        raise Conflict("That email address cannot be used; choose another")


def list_users(
    actor: UserPrincipal,
    *,
    email: str | None,
    username: str | None,
    name: str | None,
    is_service_account: bool | None,
) -> Select[Any]:
    viewer = None if actor.is_superuser else actor.user_id
    return repo.list_stmt(
        viewer, email=email, username=username, name=name, is_service_account=is_service_account
    )


async def get_me(db: AsyncSession, actor: UserPrincipal) -> User:
    user = await repo.get(db, actor.user_id)
    if user is None:
        raise NotFound("Your user no longer exists")
    return user


async def me_json(look: Lookup, actor: UserPrincipal) -> bytes:
    """The caller's user as JSON bytes, from the ``auth`` cache when possible (every
    write to a user moves that epoch): the hot ``GET /users/me`` costs no query on a hit.
    The route and the fast lane both answer through here (``kit.lookup``)."""

    async def load(db: AsyncSession) -> bytes:
        return UserRead.model_validate(await get_me(db, actor)).model_dump_json().encode()

    return await look.get(AUTH, ("me", actor.user_id), load)


async def get_visible(db: AsyncSession, actor: UserPrincipal, user_id: uuid.UUID) -> User:
    """A user the actor may see; anything else is 404 (never reveal existence)."""
    user = await repo.get(db, user_id)
    if user is None or not (
        actor.is_superuser or await repo.is_visible(db, actor.user_id, user_id)
    ):
        raise NotFound(f"User {user_id} not found")
    return user


async def update_me(db: AsyncSession, actor: UserPrincipal, data: UserUpdateMe) -> User:
    """Self-service. A new password ends every other session and token of the user (the
    current credential stays, so the caller is not logged out); a new email is
    unverified."""
    user = await get_me(db, actor)
    changes = data.model_dump(exclude_unset=True)
    new_password = changes.pop("password", None)
    old_password = changes.pop("old_password", None)
    if new_password is not None:
        if user.is_service_account:
            raise Forbidden("Service accounts have no password")
        # The schema requires old_password with password; a wrong one is refused like a
        # wrong credential (403), not as a malformed request.
        if not await verify_password(old_password or "", user.password_hash):
            raise Forbidden("old_password is not your current password")
        user.password_hash = await hash_password(new_password)
        user.password_expired = False
        await auth_repo.delete_user_tokens(db, user.id, keep=actor.token_id)
    if changes.get("email") and changes["email"] != user.email:
        await _ensure_unique(db, email=changes["email"])
        user.email_verified = False
    if "metadata" in changes:
        user.metadata_ = changes.pop("metadata") or {}
    apply_changes(user, changes)
    await flush_or_conflict(db, "That email is already in use")
    return user


async def update_user(
    db: AsyncSession, actor: UserPrincipal, user_id: uuid.UUID, data: UserUpdateAdmin
) -> User:
    user = await get_visible(db, actor, user_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("username") and changes["username"] != user.username:
        await _ensure_unique(db, username=changes["username"])
    if changes.get("email") and changes["email"] != user.email:
        await _ensure_unique(db, email=changes["email"])
        changes.setdefault("email_verified", True)  # an administrator set it
    if (changes.get("is_active") is False or changes.get("is_superuser") is False) and (
        user.is_superuser and await repo.count_active_superusers(db) <= 1
    ):
        raise Conflict("This is the last active superuser; make another one first")
    password = changes.pop("password", None)
    if password is not None:
        if user.is_service_account:
            raise BadRequest("Service accounts have no password")
        user.password_hash = await hash_password(password)
        user.password_expired = True
    apply_changes(user, changes)
    if changes.get("is_active") is False or password is not None:
        # Deactivation or a reset password ends every session at once.
        await auth_repo.delete_user_tokens(db, user.id)
    await flush_or_conflict(db, "That username or email is already in use")
    return user


async def delete_user(db: AsyncSession, actor: UserPrincipal, user_id: uuid.UUID) -> None:
    user = await get_visible(db, actor, user_id)
    if user.is_superuser and await repo.count_active_superusers(db) <= 1:
        raise Conflict("This is the last active superuser; make another one first")
    if await repo.owns_organizations(db, user.id):
        raise Conflict("This user owns organizations: transfer or delete them first")
    await auth_repo.delete_user_tokens(db, user.id)
    await db.delete(user)
    await db.flush()
