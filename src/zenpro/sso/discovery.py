"""Each provider's OpenID configuration and signing keys, fetched once and cached.

Discovery (``<issuer>/.well-known/openid-configuration``) is kept for an hour; the JWKS
until a token names a key id it lacks, which means the provider rotated its keys: then
it is fetched again, once (one fetch at a time per provider, and at most one per
``REFETCH_GAP`` seconds, so forged key ids cannot make us hammer the provider).
The cache is per process, keyed by issuer and kept in memory only: every instance can
fetch on its own, nothing in it is state another instance needs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from zenpro.sso.config import OIDCProviderConfig
from zenpro.sso.errors import SSOError

log = logging.getLogger("zenpro.sso")
METADATA_TTL = 3600.0
REFETCH_GAP = 1.0
HTTP_TIMEOUT = 10.0
PROVIDER_DOWN = (
    "The sign-in provider could not be reached or answered wrongly; try again in a "
    "moment, or ask your administrator"
)


@dataclass
class _Entry:
    metadata: dict[str, Any] | None = None
    metadata_at: float = 0.0
    keys: KeySet | None = None
    keys_at: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    keys_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


_CACHE: dict[str, _Entry] = {}


def _entry(provider: OIDCProviderConfig) -> _Entry:
    return _CACHE.setdefault(provider.issuer, _Entry())


async def _get_json(url: str) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, follow_redirects=False) as client:
            response = await client.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("sso: fetching %s failed: %s", url, type(exc).__name__)
        raise SSOError("provider_unavailable", PROVIDER_DOWN, 502) from exc
    if not isinstance(body, dict):
        raise SSOError("provider_unavailable", PROVIDER_DOWN, 502)
    return body


async def metadata(provider: OIDCProviderConfig) -> dict[str, Any]:
    """The provider's discovery document; its ``issuer`` must be the configured one
    exactly (OpenID Connect Discovery §4.3), or nothing it signs can be trusted."""
    entry = _entry(provider)
    now = time.monotonic()
    if entry.metadata is not None and now - entry.metadata_at < METADATA_TTL:
        return entry.metadata
    async with entry.lock:
        if entry.metadata is not None and time.monotonic() - entry.metadata_at < METADATA_TTL:
            return entry.metadata
        doc = await _get_json(f"{provider.issuer}/.well-known/openid-configuration")
        if doc.get("issuer") != provider.issuer:
            log.warning("sso: %s publishes issuer %r", provider.key, doc.get("issuer"))
            raise SSOError("issuer_mismatch", PROVIDER_DOWN, 502)
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(doc.get(name), str):
                raise SSOError("bad_discovery", PROVIDER_DOWN, 502)
        entry.metadata, entry.metadata_at = doc, time.monotonic()
        return doc


async def _fetch_keys(provider: OIDCProviderConfig, entry: _Entry) -> KeySet:
    doc = await metadata(provider)
    raw = await _get_json(str(doc["jwks_uri"]))
    try:
        keys = KeySet.import_key_set(raw)  # type: ignore[arg-type]
    except (JoseError, KeyError, TypeError, ValueError) as exc:
        raise SSOError("bad_jwks", PROVIDER_DOWN, 502) from exc
    entry.keys, entry.keys_at = keys, time.monotonic()
    log.info("sso: fetched the keys of %s (%d)", provider.key, len(keys.keys))
    return keys


def _has(keys: KeySet, kid: str | None) -> bool:
    return any(k.kid == kid for k in keys.keys) or (kid is None and len(keys.keys) == 1)


async def keys_for(provider: OIDCProviderConfig, kid: str | None) -> KeySet:
    """The provider's keys, holding ``kid`` if the provider publishes it: a cached set
    that lacks it is refetched once. The caller still refuses a kid that is missing."""
    entry = _entry(provider)
    if entry.keys is not None and _has(entry.keys, kid):
        return entry.keys
    async with entry.keys_lock:
        # Another request may have refetched while this one waited for the lock.
        if entry.keys is not None and (
            _has(entry.keys, kid) or time.monotonic() - entry.keys_at < REFETCH_GAP
        ):
            return entry.keys
        return await _fetch_keys(provider, entry)


def jwks_fetches() -> dict[str, float]:
    """When each issuer's keys were last fetched (monotonic): for tests and debugging."""
    return {issuer: e.keys_at for issuer, e in _CACHE.items()}
