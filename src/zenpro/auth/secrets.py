"""Opaque secrets: generated with ≥256 bits of randomness, stored only as SHA-256 hashes.

A fast hash is right here: the secrets are random, not passwords, so there is nothing to
brute-force, and lookups by hash stay a single indexed query.
"""

from __future__ import annotations

import hashlib
import secrets

API_KEY_PREFIX = "ZENPROKEY_"
SESSION_PREFIX = "zps_"
MACHINE_PREFIX = "zpm_"
ENROLLMENT_PREFIX = "zpe_"
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def new_secret(prefix: str) -> str:
    # 40 bytes = 320 bits, so a 4-character hint still leaves well over 256 secret bits.
    return prefix + secrets.token_urlsafe(40)


def hint(value: str) -> str:
    return f"{value[: len(API_KEY_PREFIX)]}…{value[-4:]}"


def new_user_code() -> str:
    chars = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"
