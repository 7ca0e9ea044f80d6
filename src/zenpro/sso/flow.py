"""The authorization-code flow with PKCE (S256), through Authlib's httpx client.

``start`` stores a flow (``state`` and the browser's flow cookie hashed, the ``nonce`` and
the PKCE verifier) and names the provider's authorization URL; ``take`` finds the flow
of a callback and deletes it (single use), checking that the same browser brings it
back within ``FLOW_MINUTES``; ``exchange`` trades the code for tokens and validates the
ID token (``tokens.validate``).
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.auth.secrets import hash_secret
from zenpro.config import Settings
from zenpro.kit.db import utcnow
from zenpro.models import OIDCFlow
from zenpro.sso import discovery, tokens
from zenpro.sso import repository as repo
from zenpro.sso.config import OIDCProviderConfig
from zenpro.sso.errors import SSOError

log = logging.getLogger("zenpro.sso")
FLOW_COOKIE = "zenpro_oidc"
FLOW_MINUTES = 10
BAD_STATE = (
    "This sign-in cannot be finished: it was used already, has expired, or was started in "
    "another browser. Start the sign-in again"
)


def redirect_uri(settings: Settings, provider: OIDCProviderConfig) -> str:
    """The one redirect URI to register at the provider (also served under /api/v1, but
    sign-ins always name this one: exact matching needs a single value)."""
    return f"{settings.base_url}/auth/oidc/{provider.key}/callback"


def _client(settings: Settings, provider: OIDCProviderConfig) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=provider.client_id,
        client_secret=provider.secret,
        scope=provider.scopes,
        redirect_uri=redirect_uri(settings, provider),
        code_challenge_method="S256",
        timeout=discovery.HTTP_TIMEOUT,
    )


@dataclass(frozen=True)
class Started:
    url: str  # where to send the browser
    browser_secret: str  # the flow cookie's value (the browser's, or a new one)


async def start(
    db: AsyncSession,
    settings: Settings,
    provider: OIDCProviderConfig,
    next_url: str,
    browser_secret: str | None,
) -> Started:
    metadata = await discovery.metadata(provider)  # before any write: nothing half-made
    secret = browser_secret or secrets.token_urlsafe(32)
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    now = utcnow()
    flow = OIDCFlow(
        state_hash=hash_secret(state),
        browser_hash=hash_secret(secret),
        provider=provider.key,
        nonce=nonce,
        code_verifier=verifier + secrets.token_urlsafe(16),  # 43..128 chars (RFC 7636)
        next_url=next_url,
        created=now,
        expires=now + timedelta(minutes=FLOW_MINUTES),
    )
    await repo.add_flow(db, flow, now)
    async with _client(settings, provider) as client:
        url, _ = client.create_authorization_url(
            str(metadata["authorization_endpoint"]),
            state=state,
            code_verifier=flow.code_verifier,
            nonce=nonce,
        )
    return Started(str(url), secret)


async def take(
    db: AsyncSession, provider: OIDCProviderConfig, state: str | None, browser: str | None
) -> OIDCFlow:
    """The flow this callback belongs to, deleted whatever happens next (a state works
    once). Refused: no or unknown state, another browser, another provider, expired."""
    if not state:
        raise SSOError("missing_state", BAD_STATE)
    flow = await repo.take_flow(db, hash_secret(state))
    if flow is None:
        raise SSOError("unknown_state", BAD_STATE)
    if browser is None or not hmac.compare_digest(flow.browser_hash, hash_secret(browser)):
        raise SSOError("state_from_other_browser", BAD_STATE)
    if flow.provider != provider.key:
        raise SSOError("state_of_other_provider", BAD_STATE)
    if flow.expires <= utcnow():
        raise SSOError("expired_state", BAD_STATE)
    return flow


async def exchange(
    settings: Settings, provider: OIDCProviderConfig, flow: OIDCFlow, code: str
) -> dict[str, Any]:
    """Trade ``code`` (with the PKCE verifier) for tokens; the validated ID-token claims,
    completed from the UserInfo endpoint when the ID token lacks the email (providers that
    send only ``sub`` in it, as OpenID Connect allows for the code flow)."""
    metadata = await discovery.metadata(provider)
    try:
        async with _client(settings, provider) as client:
            token = await client.fetch_token(
                str(metadata["token_endpoint"]),
                grant_type="authorization_code",
                code=code,
                code_verifier=flow.code_verifier,
            )
            raw = token.get("id_token")
            if not isinstance(raw, str):
                raise SSOError("no_id_token", tokens.INVALID)
            now = int(utcnow().timestamp())
            claims = await tokens.validate(provider, raw, flow.nonce, now=now)
            if provider.claims.email not in claims and metadata.get("userinfo_endpoint"):
                claims = await _with_userinfo(client, provider, metadata, claims)
    except OAuthError as exc:
        log.warning("sso: %s refused the code: %s", provider.key, exc.error)
        raise SSOError(
            "code_refused",
            f"{provider.name} did not accept this sign-in (the code was used already or "
            "has expired). Start the sign-in again",
        ) from exc
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("sso: token request to %s failed: %s", provider.key, type(exc).__name__)
        raise SSOError("provider_unavailable", discovery.PROVIDER_DOWN, 502) from exc
    return claims


async def _with_userinfo(
    client: AsyncOAuth2Client,
    provider: OIDCProviderConfig,
    metadata: dict[str, Any],
    claims: dict[str, Any],
) -> dict[str, Any]:
    """The ID token's claims, with what UserInfo adds; its ``sub`` must be the ID
    token's (OpenID Connect Core §5.3.2), or it describes someone else."""
    response = await client.get(str(metadata["userinfo_endpoint"]))
    response.raise_for_status()
    info = response.json()  # a signed (application/jwt) answer is not read: ValueError
    if not isinstance(info, dict) or info.get("sub") != claims["sub"]:
        raise SSOError("userinfo_sub_mismatch", tokens.INVALID)
    return {**info, **claims}
