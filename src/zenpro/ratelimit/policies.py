"""Rate-limit policies: named quotas read from the settings, and their IETF header forms."""

from __future__ import annotations

from dataclasses import dataclass

from limits import RateLimitItem, parse_many

from zenpro.config import Settings


@dataclass(frozen=True)
class Policy:
    """One named quota (``q`` units per ``w`` seconds), e.g. ``"default";q=600;w=60``."""

    name: str
    item: RateLimitItem

    @property
    def quota(self) -> int:
        return self.item.amount

    @property
    def window(self) -> int:
        return self.item.get_expiry()

    def header(self) -> str:
        """The ``RateLimit-Policy`` list member (draft-ietf-httpapi-ratelimit-headers-11)."""
        return f'"{self.name}";q={self.quota};w={self.window}'

    def describe(self) -> str:
        return f"{self.item} ({self.name})"


@dataclass(frozen=True)
class Policies:
    default: Policy
    anonymous: Policy
    login_ip: Policy
    login_account: Policy
    machine: Policy

    @classmethod
    def from_settings(cls, settings: Settings) -> Policies:
        return cls(
            default=_policy("default", settings.ratelimit_default, "DEFAULT"),
            anonymous=_policy("anonymous", settings.ratelimit_anonymous, "ANONYMOUS"),
            login_ip=_policy("login-ip", settings.ratelimit_login_ip, "LOGIN_IP"),
            login_account=_policy(
                "login-account", settings.ratelimit_login_account, "LOGIN_ACCOUNT"
            ),
            machine=_policy("machine", settings.ratelimit_machine, "MACHINE"),
        )


def _policy(name: str, value: str, env: str) -> Policy:
    """Parse one limit; a bad value stops the start with a message naming the variable."""
    try:
        items = parse_many(value)
    except ValueError:
        items = []
    if len(items) != 1 or items[0].amount < 1:
        raise ValueError(
            f"ZENPRO_RATELIMIT_{env}: {value!r} is not one rate limit such as '600/minute'"
        )
    return Policy(name, items[0])
