"""ID-token validation (OpenID Connect Core §3.1.3.7), all through joserfc.

Refused: an algorithm outside the asymmetric ones (so ``alg: none`` and an HMAC token
"signed" with the provider's public key never verify), a key id the provider does not
publish even after one refetch, a bad signature, a wrong ``iss``, an ``aud`` without our
client id (or several audiences without ``azp`` = our client id), ``exp`` past or
``iat`` in the future beyond ``LEEWAY``, and a ``nonce`` other than the flow's.
"""

from __future__ import annotations

import logging
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwt import JWTClaimsRegistry

from zenpro.sso import discovery
from zenpro.sso.config import OIDCProviderConfig
from zenpro.sso.errors import SSOError

log = logging.getLogger("zenpro.sso")
LEEWAY = 60  # seconds of clock skew tolerated on exp and iat
# Asymmetric algorithms only: a symmetric one would verify with whatever key we hold.
ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
INVALID = (
    "The sign-in provider's answer could not be verified, so nobody was signed in. "
    "Try again; if it keeps happening, tell your administrator"
)


def _refuse(reason: str, message: str = INVALID) -> SSOError:
    return SSOError(reason, message, 400)


def _header(raw: str) -> dict[str, Any]:
    try:
        return dict(jws.extract_compact(raw.encode("ascii")).headers())
    except (JoseError, ValueError, UnicodeError) as exc:
        raise _refuse("malformed_id_token") from exc


def _allowed(metadata: dict[str, Any]) -> list[str]:
    published = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    return sorted(ALGORITHMS.intersection(published))


def _claims_registry(provider: OIDCProviderConfig, nonce: str) -> JWTClaimsRegistry:
    return JWTClaimsRegistry(
        leeway=LEEWAY,
        iss={"essential": True, "value": provider.issuer},
        sub={"essential": True},
        aud={"essential": True, "value": provider.client_id},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )


def _check_azp(provider: OIDCProviderConfig, claims: dict[str, Any]) -> None:
    aud = claims.get("aud")
    several = isinstance(aud, list) and len(aud) > 1
    azp = claims.get("azp")
    if (several or azp is not None) and azp != provider.client_id:
        raise _refuse("wrong_azp")


def _check_iat(claims: dict[str, Any], now: int) -> None:
    iat = claims.get("iat")
    if not isinstance(iat, int | float) or iat > now + LEEWAY:
        raise _refuse("iat_in_future")


async def validate(
    provider: OIDCProviderConfig, raw: str, nonce: str, *, now: int
) -> dict[str, Any]:
    """The claims of a valid ID token from ``provider`` for the flow with ``nonce``;
    else :class:`SSOError` (the reason logged, no token in it)."""
    metadata = await discovery.metadata(provider)
    header = _header(raw)
    alg = header.get("alg")
    algorithms = _allowed(metadata)
    if alg not in algorithms:
        raise _refuse("algorithm_refused")
    kid = header.get("kid")
    keys = await discovery.keys_for(provider, kid if isinstance(kid, str) else None)
    if not any(k.kid == kid for k in keys.keys) and not (kid is None and len(keys.keys) == 1):
        raise _refuse("unknown_key")
    try:
        token = jwt.decode(raw, keys, algorithms=algorithms)
    except BadSignatureError as exc:
        raise _refuse("bad_signature") from exc
    except JoseError as exc:
        raise _refuse("invalid_id_token") from exc
    claims = dict(token.claims)
    try:
        _claims_registry(provider, nonce).validate(claims)
    except ExpiredTokenError as exc:
        raise _refuse("expired_id_token") from exc
    except (InvalidClaimError, MissingClaimError) as exc:
        raise _refuse(f"bad_claim:{exc.claim}"[:40]) from exc
    except JoseError as exc:
        raise _refuse("invalid_id_token") from exc
    _check_iat(claims, now)
    _check_azp(provider, claims)
    if not isinstance(claims.get("sub"), str) or not 0 < len(claims["sub"]) <= 255:
        raise _refuse("bad_claim:sub")
    return claims
