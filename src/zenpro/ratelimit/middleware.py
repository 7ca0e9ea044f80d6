"""The rate-limit middleware (pure ASGI), spec §7.

Order of decisions for one request:
1. exempt routes (health, readiness, metrics, docs) pass untouched;
2. login and device authorization count per client IP and per target account (the form
   is buffered, read for ``username`` / ``client_id``, and replayed to the endpoint);
3. a request carrying a Bearer token or session cookie counts per principal per route
   template (machine tokens on their own, larger budget); if it is answered 401 it also
   counts against its IP's anonymous budget, so made-up tokens cannot dodge that budget;
4. anything else counts per client IP.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Sequence
from typing import Any

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zenpro.config import Settings
from zenpro.kit.net import client_ip
from zenpro.metrics import Metrics
from zenpro.ratelimit import keys
from zenpro.ratelimit.policies import Policies, Policy
from zenpro.ratelimit.storage import Check, Limiter, Outcome

# Operations and documentation (their static assets included) are never limited.
EXEMPT = frozenset(
    {
        *("/health", "/ready", "/metrics", "/openapi.json"),
        *("/docs", "/docs/oauth2-redirect", "/redoc", "/docs-assets"),
    }
)
LOGIN_ROUTES = frozenset({("POST", "/auth/login"), ("POST", "/login")})
DEVICE_ROUTES = frozenset({("POST", "/auth/device_authorization")})
# Grants that present a guessable credential; the others carry a random secret.
PASSWORD_GRANTS = frozenset({"", "password"})
FAIL_CLOSED_RETRY_AFTER = 2
MAX_BLOCKED = 10_000  # IPs remembered as out of bad-credential budget (memory bound)


class RateLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Sequence[BaseRoute],
        settings: Settings,
        policies: Policies,
        limiter: Limiter,
        metrics: Metrics,
    ) -> None:
        self.app = app
        self._routes = routes
        self._flat: list[Any] | None = None
        self._blocked: dict[str, float] = {}  # IP -> monotonic time its block ends
        self.settings = settings
        self.policies = policies
        self.limiter = limiter
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._flat is None:  # first request: every router is included by now
            self._flat = keys.flatten(self._routes)
        template = keys.route_template(self._flat, scope)
        scope.setdefault("state", {})["route_template"] = template
        if template in EXEMPT:
            await self.app(scope, receive, send)
            return
        ip = client_ip(scope, self.settings)
        route = (scope["method"], template)
        principal = None
        if route in LOGIN_ROUTES or route in DEVICE_ROUTES:
            checks, receive = await self._login_checks(scope, receive, ip, route in DEVICE_ROUTES)
        else:
            principal = keys.credential(scope)
            if principal is not None and await self._refuse_if_blocked(send, ip):
                return
            checks = self._checks(scope, template, ip, principal)
        outcomes = await self.limiter.apply(checks)
        if outcomes is None:
            await self._storage_down(scope, receive, send, checks)
            return
        denied = [o for o in outcomes if not o.allowed]
        headers = _headers(outcomes)
        if denied:
            await self._too_many(send, denied, headers)
            return
        if principal is None:
            await self.app(scope, receive, _adding(send, headers))
            return
        status: list[int] = []
        await self.app(scope, receive, _adding(send, headers, status))
        if status == [401]:
            await self._count_bad_credential(ip)

    async def _too_many(
        self, send: Send, denied: Sequence[Outcome], headers: list[tuple[bytes, bytes]]
    ) -> None:
        for outcome in denied:
            self.metrics.ratelimit_rejections.labels(policy=outcome.policy.name).inc()
        await _send_429(send, denied, headers)

    async def _refuse_if_blocked(self, send: Send, ip: str) -> bool:
        """429 for a credentialed request from an IP that used up its bad-credential budget.

        A request with a token gets its own bucket without a database lookup, so random
        tokens would each get a fresh one. Requests answered 401 therefore also count
        against the anonymous budget of their IP; once it is spent, credentialed requests
        from that IP are refused until it frees up. The block is a local dict lookup, so
        the hot path stays free of extra storage calls.
        """
        until = self._blocked.get(ip)
        if until is None:
            return False
        left = until - time.monotonic()
        if left <= 0:
            del self._blocked[ip]
            return False
        outcome = Outcome(self.policies.anonymous, False, 0, max(1, math.ceil(left)))
        await self._too_many(send, [outcome], _headers([outcome]))
        return True

    async def _count_bad_credential(self, ip: str) -> None:
        outcomes = await self.limiter.apply([Check(self.policies.anonymous, ("anonymous", ip))])
        if outcomes and not outcomes[0].allowed:
            if len(self._blocked) >= MAX_BLOCKED:
                now = time.monotonic()
                self._blocked = {k: v for k, v in self._blocked.items() if v > now}
            if len(self._blocked) < MAX_BLOCKED:
                self._blocked[ip] = time.monotonic() + outcomes[0].reset_after

    def _checks(
        self, scope: Scope, template: str, ip: str, found: tuple[str, bool] | None
    ) -> list[Check]:
        if found is None:
            return [Check(self.policies.anonymous, ("anonymous", ip))]
        principal, machine = found
        policy = self.policies.machine if machine else self.policies.default
        return [Check(policy, (policy.name, principal, scope["method"], template))]

    async def _login_checks(
        self, scope: Scope, receive: Receive, ip: str, device: bool
    ) -> tuple[list[Check], Receive]:
        """Per-IP and per-account checks for a credential-guessing request.

        Every attempt counts (the outcome is not known yet), so a burst against one account
        is slowed from any IP, and one IP cannot spray many accounts. The moving window is
        the backoff: quota frees up as old attempts age out; nothing is locked for good.
        """
        fields: dict[str, str] = {}
        if keys.is_form(scope):
            body, messages = await keys.buffer_body(receive)
            receive = keys.replaying(messages, receive)
            fields = keys.form_fields(body)
        if not device and fields.get("grant_type", "") not in PASSWORD_GRANTS:
            # client_credentials and device_code polls carry a random secret: nothing to
            # guess, so they only share the ordinary anonymous budget of their IP.
            return [Check(self.policies.anonymous, ("anonymous", ip))], receive
        checks = [Check(self.policies.login_ip, ("login-ip", ip))]
        account = fields.get("client_id" if device else "username", "").strip().lower()
        if account:
            target = keys.digest(account)
            checks.append(Check(self.policies.login_account, ("login-account", target)))
        return checks, receive

    async def _storage_down(
        self, scope: Scope, receive: Receive, send: Send, checks: Sequence[Check]
    ) -> None:
        policy_header = _policy_header(c.policy for c in checks)
        if self.limiter.fail_closed:
            await _respond(
                send,
                503,
                {
                    "detail": "Rate limiting is unavailable; retry shortly",
                    "code": "unavailable",
                },
                [
                    (b"retry-after", str(FAIL_CLOSED_RETRY_AFTER).encode()),
                    (b"ratelimit-policy", policy_header),
                ],
            )
            return
        # Fail open: serve, announcing the policy but no live counters (they are unknown).
        await self.app(scope, receive, _adding(send, [(b"ratelimit-policy", policy_header)]))


def _policy_header(policies: Iterable[Policy]) -> bytes:
    seen: list[Policy] = []
    for p in policies:
        if p not in seen:
            seen.append(p)
    return ", ".join(p.header() for p in seen).encode()


def _headers(outcomes: Sequence[Outcome]) -> list[tuple[bytes, bytes]]:
    return [
        (b"ratelimit-policy", _policy_header(o.policy for o in outcomes)),
        (b"ratelimit", ", ".join(o.header() for o in outcomes).encode()),
    ]


def _adding(
    send: Send, headers: list[tuple[bytes, bytes]], status: list[int] | None = None
) -> Send:
    """Add ``headers`` to the response; record its status in ``status`` when given."""

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *headers]
            if status is not None:
                status.append(message["status"])
        await send(message)

    return send_with_headers


async def _send_429(
    send: Send, denied: Sequence[Outcome], headers: list[tuple[bytes, bytes]]
) -> None:
    retry_after = max(o.reset_after for o in denied)
    limits = ", ".join(o.policy.describe() for o in denied)
    detail = f"Rate limit exceeded: {limits}; retry in {retry_after} s"
    await _respond(
        send,
        429,
        {"detail": detail, "code": "rate_limited"},
        [(b"retry-after", str(retry_after).encode()), *headers],
    )


async def _respond(
    send: Send, status: int, payload: dict[str, str], headers: list[tuple[bytes, bytes]]
) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
