"""Which zenpro user a single sign-on is, and what happens to them at sign-in.

In order: the identity (provider, ``sub``) already linked; else the user with the same
email, when the provider says it is verified, is linked; else a user is created just in
time, without a password. Everything that can refuse is decided before anything is
written, so a refusal leaves nothing half-created. Deactivated users and service
accounts are refused; with ``allowed_domains`` only verified emails of those domains
get in, on every sign-in.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.auth.principal import Credential, UserPrincipal
from zenpro.auth.service import Issued, start_session
from zenpro.authz.access import Access
from zenpro.authz.checker import load_grants
from zenpro.config import Settings
from zenpro.errors import ZenproError
from zenpro.invitations import service as invitations
from zenpro.kit.db import utcnow
from zenpro.models import Invitation, OIDCIdentity, Organization, User
from zenpro.sso import repository as repo
from zenpro.sso.config import OIDCProviderConfig
from zenpro.sso.errors import SSOError

log = logging.getLogger("zenpro.sso")
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+\-]{0,254}$")
How = Literal["signed_in", "linked", "created"]


@dataclass(frozen=True)
class Claims:
    """What a validated ID token says about the person (names per ``provider.claims``)."""

    sub: str
    email: str | None
    email_verified: bool
    name: str | None
    picture: str | None

    @classmethod
    def read(cls, provider: OIDCProviderConfig, claims: dict[str, Any]) -> Claims:
        names = provider.claims

        def text(name: str, limit: int) -> str | None:
            value = claims.get(name)
            return value[:limit] if isinstance(value, str) and value else None

        email = text(names.email, 320)
        verified = claims.get(names.email_verified)
        return cls(
            sub=str(claims["sub"]),
            email=email if email and "@" in email else None,
            email_verified=verified is True or verified == "true",
            name=text(names.name, 255),
            picture=text(names.picture, 1024),
        )


@dataclass(frozen=True)
class SignedIn:
    user: User
    how: How
    issued: Issued


def _unverified(provider: OIDCProviderConfig, email: str) -> SSOError:
    return SSOError(
        "email_unverified",
        f"Your email address {email} is not verified at {provider.name}: verify it "
        "there, then sign in again",
        403,
    )


def _check_domain(provider: OIDCProviderConfig, c: Claims) -> None:
    if provider.allowed_domains is None:
        return
    if c.email is not None and not c.email_verified:
        raise _unverified(provider, c.email)
    if c.email is None or not c.email_verified or not provider.allows(c.email):
        domains = ", ".join(provider.allowed_domains)
        raise SSOError(
            "domain_not_allowed",
            f"Only {provider.name} accounts with a verified email address at {domains} may "
            "sign in to this server. Sign in with such an account, or ask your administrator",
            403,
        )


def _check_user(user: User) -> None:
    if user.is_service_account:
        raise SSOError("service_account", "Service accounts cannot sign in", 403)
    if not user.is_active:
        raise SSOError(
            "deactivated",
            "This account is deactivated: ask an administrator of this server to reactivate it",
            403,
        )


async def _find(
    db: AsyncSession, provider: OIDCProviderConfig, c: Claims
) -> tuple[User | None, OIDCIdentity | None]:
    ident = await repo.identity(db, provider.key, c.sub)
    if ident is not None:
        return await repo.user(db, ident.user_id), ident
    if c.email is None:
        raise SSOError(
            "no_email",
            f"{provider.name} did not tell us your email address, which a first sign-in "
            "needs: allow the email scope, or ask your administrator",
        )
    if not c.email_verified:
        raise _unverified(provider, c.email)
    return await repo.user_by_email(db, c.email), None


async def _username(db: AsyncSession, provider: OIDCProviderConfig, c: Claims) -> str:
    if c.email and USERNAME.match(c.email) and not await repo.username_taken(db, c.email):
        return c.email
    digest = hashlib.sha256(f"{provider.key}:{c.sub}".encode()).hexdigest()[:12]
    return f"sso-{provider.key}-{digest}"


async def sign_in(
    db: AsyncSession,
    settings: Settings,
    provider: OIDCProviderConfig,
    c: Claims,
    *,
    user_agent: str | None,
    ip: str | None,
) -> SignedIn:
    """The user of this sign-in, linked or created, and a new browser session for them."""
    _check_domain(provider, c)
    user, ident = await _find(db, provider, c)
    if user is not None:
        _check_user(user)
    # Decided: from here on only writes.
    how: How = "signed_in" if ident else ("linked" if user else "created")
    try:
        user = await _write(db, provider, c, user, ident)
    except IntegrityError as exc:
        # Two first sign-ins of one person at once (or a username taken meanwhile): one
        # wins; this one is refused whole (the caller rolls back) and may simply retry.
        raise SSOError(
            "conflict", "This account was being set up by another sign-in; try again", 409
        ) from exc
    issued = await start_session(db, settings, user.id, user_agent=user_agent, ip=ip)
    return SignedIn(user, how, issued)


async def _write(
    db: AsyncSession,
    provider: OIDCProviderConfig,
    c: Claims,
    user: User | None,
    ident: OIDCIdentity | None,
) -> User:
    if user is None:
        user = User(
            username=await _username(db, provider, c),
            email=c.email,
            email_verified=True,
            name=c.name,
            avatar_url=c.picture,
            password_hash=None,
            is_active=True,
        )
        db.add(user)
        await db.flush()
    if ident is None:
        db.add(OIDCIdentity(provider=provider.key, subject=c.sub, user_id=user.id, email=c.email))
    else:
        ident.last_login, ident.email = utcnow(), c.email
    user.oauth_provider, user.oauth_id = provider.key, c.sub
    if c.email_verified and c.email and (user.email or "").lower() == c.email.lower():
        user.email_verified = True
    await db.flush()
    return user


async def access_of(db: AsyncSession, user: User) -> Access:
    principal = UserPrincipal.of(user, Credential.session)
    return Access(principal, await load_grants(db, principal))


async def pending(db: AsyncSession, user: User) -> list[tuple[Invitation, Organization]]:
    """Invitations a user may take now: to their verified email, open and unexpired."""
    if not user.email or not user.email_verified:
        return []
    return await repo.pending_invitations(db, user.email, utcnow())


async def accept_trusted(
    db: AsyncSession, provider: OIDCProviderConfig, user: User
) -> list[Invitation]:
    """A provider marked ``trust_email_domain`` vouches for its users' addresses: their
    pending invitations are accepted at sign-in, as ZenML Pro does."""
    if not provider.trust_email_domain:
        return []
    items = await pending(db, user)
    if not items:
        return []
    access = await access_of(db, user)
    accepted = []
    for inv, _ in items:
        try:  # every refusal of accept() comes before it writes anything
            accepted.append(await invitations.accept(db, access, inv.id))
        except ZenproError as exc:  # e.g. accepted meanwhile: the sign-in goes on
            log.info("sso: invitation %s not accepted at sign-in: %s", inv.id, exc.message)
    return accepted
