"""The rate-limit middleware (pure ASGI), spec §7.

Order of decisions for one request:
1. exempt routes (health, readiness, metrics, docs) pass untouched;
2. login and device authorization count per client IP and per target account: the form is
   parsed once (``ratelimit.forms``), kept in ``scope["state"]`` for the endpoint, and the
   body replayed to it;
3. a request carrying a Bearer token or session cookie counts per principal per route
   template (machine tokens on their own, larger budget). A credential the limiter does
   not *know* to be genuine also counts, before it is served, against its IP's anonymous
   budget, so made-up tokens cannot buy fresh buckets (see ``_known``);
4. anything else counts per client IP.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zenpro.auth.service import cached_principal
from zenpro.config import Settings
from zenpro.kit.asgi import HTTPMiddleware, send_json
from zenpro.kit.metrics import Metrics
from zenpro.kit.net import client_ip
from zenpro.ratelimit import forms, keys
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
MAX_PROVEN = 50_000  # credentials remembered as genuine (memory bound, ~100 bytes each)


class RateLimitMiddleware(HTTPMiddleware):
    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Sequence[BaseRoute],
        settings: Settings,
        policies: Policies,
        limiter: Limiter,
        metrics: Metrics,
        state: Any = None,
    ) -> None:
        super().__init__(app)
        self._routes = routes
        self._flat: list[Any] | None = None
        # Digests of credentials an endpoint resolved to a principal, most recent last.
        self._proven: OrderedDict[str, None] = OrderedDict()
        self.state = state  # the FastAPI app's state: its credential cache
        self.settings = settings
        self.policies = policies
        self.limiter = limiter
        self.metrics = metrics

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._flat is None:  # first request: every router is included by now
            self._flat = keys.flatten(self._routes)
        template = keys.route_template(self._flat, scope)
        scope.setdefault("state", {})["route_template"] = template
        if template in EXEMPT:
            await self.app(scope, receive, send)
            return
        ip = client_ip(scope, self.settings)
        route = (scope["method"], template)
        if route in LOGIN_ROUTES or route in DEVICE_ROUTES:
            checks, receive = await self._login_checks(scope, receive, ip, route in DEVICE_ROUTES)
        else:
            presented = keys.credential(scope)
            if presented is not None:
                await self._credentialed(scope, receive, send, template, ip, presented)
                return
            checks = [self._anonymous(ip)]
        outcomes = await self.limiter.apply(checks)
        if outcomes is None:
            await self._storage_down(scope, receive, send, checks)
            return
        denied = [o for o in outcomes if not o.allowed]
        headers = _headers(outcomes)
        if denied:
            await self._too_many(send, denied, headers)
            return
        await self.app(scope, receive, _adding(send, headers))

    def _anonymous(self, ip: str) -> Check:
        return Check(self.policies.anonymous, ("anonymous", ip))

    async def _credentialed(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        template: str,
        ip: str,
        presented: keys.Presented,
    ) -> None:
        """Count a request with a credential: its own bucket, plus the anonymous budget of
        its IP when the credential is not known to be genuine.

        The gate is checked *before* serving: a public page answers 200 to any token, so
        waiting for a 401 would let a made-up token per request escape every budget. Only
        the credential's own bucket is announced in the headers; the gate shows itself
        when it refuses (429 naming the anonymous policy).
        """
        policy = self.policies.machine if presented.machine else self.policies.default
        own = Check(policy, (policy.name, presented.digest, scope["method"], template))
        known = await self._known(presented)
        checks = [own] if known else [own, self._anonymous(ip)]
        outcomes = await self.limiter.apply(checks)
        if outcomes is None:
            await self._storage_down(scope, receive, send, checks)
            return
        gate = [o for o in outcomes[1:] if not o.allowed]
        if gate:
            await self._too_many(send, gate, _headers(gate))
            return
        headers = _headers(outcomes[:1])
        if not outcomes[0].allowed:
            await self._too_many(send, outcomes[:1], headers)
            return
        status: list[int] = []
        await self.app(scope, receive, _adding(send, headers, status))
        await self._learn(scope, presented, known, status, ip)

    async def _known(self, presented: keys.Presented) -> bool:
        """Whether a credential is known to be genuine, without a database query: an
        endpoint resolved it to a principal before (remembered here), or it resolves from
        the credential cache (``auth.service.cached_principal``: valid, unexpired).

        A made-up token is never known: neither place can hold a secret that no
        resolution accepted. The cache is read without its epoch fence; at worst a token
        revoked a moment ago is counted as known once more, and its 401 then counts
        against the IP (``_learn``). What is remembered here outlives cache flushes, so
        a busy workspace server does not spend its IP's anonymous budget after every
        unrelated change that empties the caches.
        """
        if presented.digest in self._proven:
            self._proven.move_to_end(presented.digest)
            return True
        cache = getattr(self.state, "cache", None)
        if presented.bearer is None or cache is None:
            return False
        return await cached_principal(cache, presented.bearer) is not None

    async def _learn(
        self, scope: Scope, presented: keys.Presented, known: bool, status: list[int], ip: str
    ) -> None:
        """Remember a credential the endpoint resolved (``auth.deps`` sets the request's
        ``principal``); forget one answered 401, which also costs its IP one anonymous
        unit if it had not paid one before being served."""
        if (scope.get("state") or {}).get("principal") is not None:
            self._proven[presented.digest] = None
            self._proven.move_to_end(presented.digest)
            if len(self._proven) > MAX_PROVEN:
                self._proven.popitem(last=False)
        elif status == [401]:
            self._proven.pop(presented.digest, None)
            if known:
                await self.limiter.apply([self._anonymous(ip)])

    async def _too_many(
        self, send: Send, denied: Sequence[Outcome], headers: list[tuple[bytes, bytes]]
    ) -> None:
        for outcome in denied:
            self.metrics.ratelimit_rejections.labels(policy=outcome.policy.name).inc()
        await _send_429(send, denied, headers)

    async def _login_checks(
        self, scope: Scope, receive: Receive, ip: str, device: bool
    ) -> tuple[list[Check], Receive]:
        """Per-IP and per-account checks for a credential-guessing request.

        Every attempt counts (the outcome is not known yet), so a burst against one account
        is slowed from any IP, and one IP cannot spray many accounts. The moving window is
        the backoff: quota frees up as old attempts age out; nothing is locked for good.
        The form is the one the endpoint reads (``ratelimit.forms``); one it will refuse
        (a repeated field, another content type) guesses nothing but still costs an attempt
        of its IP, so refusals cannot be sent for free.
        """
        form, receive = await forms.read(scope, receive)
        if form.problem is not None:
            return [Check(self.policies.login_ip, ("login-ip", ip))], receive
        fields = form.fields
        if not device and fields.get("grant_type", "") not in PASSWORD_GRANTS:
            # client_credentials and device_code polls carry a random secret: nothing to
            # guess, so they only share the ordinary anonymous budget of their IP.
            return [self._anonymous(ip)], receive
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
            await send_json(
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
    await send_json(
        send,
        429,
        {"detail": detail, "code": "rate_limited"},
        [(b"retry-after", str(retry_after).encode()), *headers],
    )
