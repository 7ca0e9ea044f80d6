"""Login rules and credential resolution.

Every credential is an opaque random secret looked up by its hash (design.md): revoking
one, or deactivating or deleting its user, takes effect on the next request everywhere.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.auth import repository as repo
from zenpro.auth.passwords import verify_password
from zenpro.auth.principal import Credential, MachinePrincipal, Principal, UserPrincipal
from zenpro.auth.secrets import (
    API_KEY_PREFIX,
    MACHINE_PREFIX,
    SESSION_PREFIX,
    hash_secret,
    new_secret,
)
from zenpro.config import Settings
from zenpro.errors import Forbidden, NotAuthenticated
from zenpro.kit.cache import AUTH, EpochCache
from zenpro.kit.db import utcnow
from zenpro.kit.lookup import Lookup, Miss, Peeking
from zenpro.models import APIKey, Token, User, Workspace

# last_used is written at most this often per token: no DB write on every request.
TOUCH_EVERY = timedelta(seconds=60)
BAD_CREDENTIALS = "Invalid username or password"
SSO_ONLY = (
    "Password sign-in is turned off on this server: sign in with single sign-on "
    "(superusers may still use their password)"
)


@dataclass(frozen=True)
class Issued:
    """A freshly issued token: the raw secret (shown once) and its row."""

    secret: str
    token: Token

    @property
    def expires_in(self) -> int:
        """Seconds the token is certain to stay valid: an idle session reports its idle
        window, since a client must not count on more than that (the CLI trusts it)."""
        remaining = int((self.token.expires - utcnow()).total_seconds())
        if self.token.idle_minutes is not None:
            remaining = min(remaining, self.token.idle_minutes * 60)
        return max(1, remaining)


async def issue_token(
    db: AsyncSession,
    kind: Credential,
    lifetime: timedelta,
    *,
    user_id: uuid.UUID | None = None,
    workspace_id: uuid.UUID | None = None,
    device_id: uuid.UUID | None = None,
    api_key_id: uuid.UUID | None = None,
    parent_token_id: uuid.UUID | None = None,
    not_after: datetime | None = None,
    idle_minutes: int | None = None,
    user_agent: str | None = None,
    ip: str | None = None,
    audience: uuid.UUID | None = None,
) -> Issued:
    """Store a new token. ``parent_token_id``/``api_key_id`` record what it was minted
    with (ending that ends this token, by ``ON DELETE CASCADE``); ``not_after`` caps its
    expiry at its source's, so no chain of mints can outlive where it started."""
    secret = new_secret(MACHINE_PREFIX if kind is Credential.machine else SESSION_PREFIX)
    now = utcnow()
    expires = now + lifetime if not_after is None else min(now + lifetime, not_after)
    token = Token(
        kind=kind.value,
        token_hash=hash_secret(secret),
        user_id=user_id,
        workspace_id=workspace_id,
        device_id=device_id,
        api_key_id=api_key_id,
        parent_token_id=parent_token_id,
        created=now,
        last_used=now,
        expires=expires,
        idle_minutes=idle_minutes,
        user_agent=(user_agent or "")[:512] or None,
        ip=ip,
        audience=audience,
    )
    await repo.add_token(db, token)
    return Issued(secret, token)


async def login_password(
    db: AsyncSession,
    settings: Settings,
    username: str,
    password: str,
    *,
    user_agent: str | None,
    ip: str | None,
) -> tuple[Issued, User]:
    """A local-account login: a new session (never reusing an old one, so a planted
    session id cannot survive login). Unknown user and wrong password answer alike."""
    user = await repo.user_by_username(db, username)
    if user is not None:
        db.expunge(user)  # keep its loaded attributes through the rollback below
    # End the read transaction before waiting for a hashing slot: a burst of logins must
    # not hold pooled connections (and starve every other request) while Argon2 runs.
    await db.rollback()
    ok = await verify_password(password, user.password_hash if user else None)
    if not ok or user is None or not user.is_active or user.is_service_account:
        raise NotAuthenticated(BAD_CREDENTIALS if settings.password_login else SSO_ONLY)
    if not settings.password_login and not user.is_superuser:
        # ZENPRO_PASSWORD_LOGIN=false: only the break-glass path (a local superuser) is
        # left; everyone gets the same answer, so it reveals no account or password.
        raise NotAuthenticated(SSO_ONLY)
    return await start_session(db, settings, user.id, user_agent=user_agent, ip=ip), user


async def start_session(
    db: AsyncSession,
    settings: Settings,
    user_id: uuid.UUID,
    *,
    user_agent: str | None,
    ip: str | None,
) -> Issued:
    """A new browser session for a user who just proved who they are (password or SSO):
    the configured absolute and idle lifetimes."""
    return await issue_token(
        db,
        Credential.session,
        timedelta(hours=settings.session_absolute_hours),
        user_id=user_id,
        idle_minutes=settings.session_idle_minutes,
        user_agent=user_agent,
        ip=ip,
    )


def _token_alive(token: Token, now: datetime) -> bool:
    if token.expires <= now:
        return False
    if token.idle_minutes is not None:
        return now - token.last_used < timedelta(minutes=token.idle_minutes)
    return True


def key_expiry(key: APIKey, digest: str) -> datetime | None:
    """When this secret of the key stops working: the key's expiry, and for a rotated-out
    secret also the end of its retention period."""
    if key.previous_key_hash == digest and key.previous_expires is not None:
        return min(key.expires or key.previous_expires, key.previous_expires)
    return key.expires


async def resolve_api_key(db: AsyncSession, raw: str) -> tuple[APIKey, User]:
    """A ``ZENPROKEY_`` key: active, unexpired, owner active; a rotated-out key only
    within its retention period."""
    found = await repo.api_key_with_owner(db, hash_secret(raw))
    if found is None:
        raise NotAuthenticated("Invalid API key")
    key, user = found
    now = utcnow()
    if key.previous_key_hash == hash_secret(raw) and (
        key.previous_expires is None or key.previous_expires <= now
    ):
        raise NotAuthenticated("This API key was rotated and its retention period is over")
    if not key.active:
        raise NotAuthenticated("This API key is deactivated")
    if key.expires is not None and key.expires <= now:
        raise NotAuthenticated("This API key has expired")
    if not user.is_active:
        raise NotAuthenticated("The account of this API key is deactivated")
    if key.last_used is None or now - key.last_used > TOUCH_EVERY:
        await repo.touch_api_key(db, key.id, now)
        key.last_used = now
    return key, user


@dataclass(slots=True)
class _Cached:
    """A resolved credential kept in the ``auth`` cache, with what must be rechecked on
    every hit: expiry, idle expiry and the throttled ``last_used`` write."""

    principal: Principal
    expires: datetime | None
    idle: timedelta | None
    last_used: datetime | None
    row_id: uuid.UUID
    is_key: bool


async def resolve(
    look: Lookup, raw: str, *, via_cookie: bool = False, audience: uuid.UUID | None = None
) -> Principal:
    """Turn a bearer secret or session cookie into a Principal, or raise 401.

    An ``exchange`` token is refused unless ``audience`` is its workspace: the one caller
    that passes one is ``GET /users/authorize_server`` (the workspace signing its user in),
    so a token the console hands a workspace server can do nothing else anywhere.

    One indexed query on a cache miss; none on a hit (the epoch check aside, see
    ``zenpro.kit.cache``). The routes look up through the database (``Loading``); the fast
    lane through the cache alone (``Peeking``), which raises ``Miss`` wherever the database
    is needed, so both accept exactly the credentials :func:`_validity` accepts."""
    digest = hash_secret(raw)

    def load(db: AsyncSession) -> Awaitable[_Cached]:
        return _resolve_uncached(db, raw, digest, via_cookie)

    entry = await look.get(AUTH, (digest, via_cookie), load)
    now = utcnow()
    validity = _validity(entry, now)
    if validity == "touch_due":
        await look.run(partial(_touch, entry, now))
    elif validity == "ended":
        entry = await look.run(load)  # expired or idle since it was cached: says why
    principal = entry.principal
    if (
        isinstance(principal, UserPrincipal)
        and principal.credential is Credential.exchange
        and (audience is None or principal.audience != audience)
    ):
        raise NotAuthenticated("This token only signs its user in to one workspace server")
    return principal


async def cached_principal(cache: EpochCache, raw: str) -> Principal | None:
    """A Bearer credential's principal from the cache alone, when that needs no database
    work at all (valid, not idle, no ``last_used`` write due); else None."""
    try:
        return await resolve(Peeking(cache), raw)
    except (Miss, NotAuthenticated):
        return None


# "touch_due": valid, and its throttled ``last_used`` write is due; "ended": expired, or
# idle too long. (Plain strings: an Enum member lookup costs more than the fast lane's
# whole credential check.)
Validity = Literal["valid", "touch_due", "ended"]


def _validity(hit: _Cached, now: datetime) -> Validity:
    """The one validity check of a cached credential, on every hit of every path: its
    expiry, its idle expiry (a session unused for its idle window is over), and whether
    its ``last_used`` write is due (that write also keeps an idle session alive)."""
    if hit.expires is not None and hit.expires <= now:
        return "ended"
    last = hit.last_used
    if hit.idle is not None and last is not None and now - last >= hit.idle:
        return "ended"
    if last is None or now - last > TOUCH_EVERY:
        return "touch_due"
    return "valid"


async def _touch(hit: _Cached, now: datetime, db: AsyncSession) -> None:
    # Claim the write before awaiting it: of the requests that find it due at once,
    # one writes and the others go on (no pile-up on the same row).
    hit.last_used = now
    if hit.is_key:
        await repo.touch_api_key(db, hit.row_id, now)
    else:
        await repo.touch_token(db, hit.row_id, now)


async def _resolve_uncached(db: AsyncSession, raw: str, digest: str, via_cookie: bool) -> _Cached:
    if raw.startswith(API_KEY_PREFIX) and not via_cookie:
        key, key_owner = await resolve_api_key(db, raw)
        expires = key_expiry(key, digest)
        by_key = UserPrincipal.of(key_owner, Credential.api_key, api_key_id=key.id, expires=expires)
        return _Cached(by_key, expires, None, key.last_used, key.id, is_key=True)
    found = await repo.token_with_owner(db, digest)
    now = utcnow()
    if found is None or not _token_alive(found[0], now):
        raise NotAuthenticated("Invalid or expired token")
    token, user, workspace = found
    if now - token.last_used > TOUCH_EVERY:
        await repo.touch_token(db, token.id, now)
        token.last_used = now
    principal: Principal
    if workspace is not None:
        principal = _workspace_principal(token, workspace)
    elif user is None or not user.is_active:
        raise NotAuthenticated("Invalid or expired token")
    else:
        principal = UserPrincipal.of(
            user,
            Credential(token.kind),
            token_id=token.id,
            via_cookie=via_cookie,
            expires=token.expires,
            audience=token.audience,
        )
    idle = timedelta(minutes=token.idle_minutes) if token.idle_minutes is not None else None
    return _Cached(principal, token.expires, idle, token.last_used, token.id, is_key=False)


def _workspace_principal(token: Token, workspace: Workspace) -> MachinePrincipal:
    off = ("deleted", "deactivated")
    if workspace.status in off or workspace.desired_state in off:
        # desired_state too: a deactivation acts at once, before the reconciler runs
        raise NotAuthenticated(f"Workspace {workspace.name} is deactivated or deleted")
    return MachinePrincipal(
        workspace_id=workspace.id,
        organization_id=workspace.organization_id,
        token_id=token.id,
        expires=token.expires,
    )


async def logout(db: AsyncSession, principal: Principal) -> None:
    if principal.token_id is not None:
        await repo.delete_token(db, principal.token_id)


async def login_api_key(
    db: AsyncSession,
    settings: Settings,
    raw: str,
    *,
    user_agent: str | None,
    ip: str | None,
) -> Issued:
    """Exchange a ``ZENPROKEY_`` key (PAT or service-account key) for an access token
    (kind ``api``), as the ZenML client does before its first Pro API call."""
    key, user = await resolve_api_key(db, raw)
    return await issue_token(
        db,
        Credential.api,
        timedelta(minutes=settings.token_lifetime_minutes),
        user_id=user.id,
        api_key_id=key.id,
        not_after=key_expiry(key, hash_secret(raw)),
        user_agent=user_agent,
        ip=ip,
    )


async def login_machine(
    db: AsyncSession, settings: Settings, client_id: str, client_secret: str
) -> Issued:
    """``client_credentials``: a workspace server proves its enrollment key and gets a
    machine token. Wrong id or secret → 401 (alike); a deactivated or deleted workspace →
    403, told only to a caller who holds its secret."""
    try:
        workspace_id = uuid.UUID(client_id)
    except ValueError:
        workspace_id = None
    workspace = await repo.get_workspace(db, workspace_id) if workspace_id else None
    expected = workspace.enrollment_key_hash if workspace else None
    if (
        workspace is None
        or not expected
        or not hmac.compare_digest(expected, hash_secret(client_secret))
    ):
        raise NotAuthenticated("Invalid workspace client id or secret")
    if workspace.status in ("deleted", "deactivated") or workspace.desired_state in (
        "deleted",
        "deactivated",
    ):
        raise Forbidden(f"Workspace {workspace.name} is {workspace.status}: it may not log in")
    return await issue_token(
        db,
        Credential.machine,
        timedelta(minutes=settings.token_lifetime_minutes),
        workspace_id=workspace.id,
    )


async def api_token(db: AsyncSession, principal: UserPrincipal) -> Issued:
    """``GET /auth/api_token``: a one-hour token for the caller, for scripts. It descends
    from the credential of the request (session, device or API token, or a key): ending
    that ends this token, and it never outlives it."""
    return await issue_token(
        db,
        Credential.api,
        timedelta(hours=1),
        user_id=principal.user_id,
        parent_token_id=principal.token_id,
        api_key_id=principal.api_key_id,
        not_after=principal.expires,
    )
