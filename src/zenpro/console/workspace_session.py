"""Reading a workspace's ZenML server for one console request: which workspace (and
whether it should answer at all), the user's workspace token (cached, exchanged on a miss
or a 401, from a one-minute child of the request's credential), the page's timeout, and
how the page's parallel reads report their problems. The pages are
``console.workspace_view``; the wire and the shapes are ``console.zenml_client``."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.auth import service as auth_service
from zenpro.auth.principal import Credential, UserPrincipal
from zenpro.config import Settings
from zenpro.console.zenml_client import (
    Epochs,
    Key,
    Reader,
    SignInRefused,
    TokenCache,
    Unreachable,
    WorkspaceProblem,
    client,
    exchange,
)
from zenpro.kit.cache import AUTH, GRANTS, snapshot
from zenpro.models import Workspace

T = TypeVar("T")
EXCHANGE_TOKEN_LIFETIME = timedelta(seconds=60)  # the workspace calls back at once


@dataclass(frozen=True)
class Live:
    """What the pages need of the workspace, taken before the request's transaction
    ends (the workspace calls zenpro back while we wait for it)."""

    id: uuid.UUID
    name: str
    organization_id: uuid.UUID
    url: str | None
    status: str
    desired_state: str
    simulated: bool

    @classmethod
    def of(cls, ws: Workspace, settings: Settings) -> Live:
        return cls(
            ws.id,
            ws.name,
            ws.organization_id,
            ws.server_url,
            ws.status,
            ws.desired_state,
            ws.is_managed and settings.workspace_provisioner == "simulated",
        )

    @property
    def base(self) -> str:
        return f"/console/workspaces/{self.name}"

    def down_reason(self) -> str | None:
        """Why there is nothing to read, or None when the server should answer."""
        if self.simulated:
            return (
                "This workspace is simulated (ZENPRO_WORKSPACE_PROVISIONER=simulated): "
                "it runs no ZenML server."
            )
        if self.status != "available" or self.desired_state != "available":
            return f"Its ZenML server is not available (status: {self.status})."
        if not self.url:
            return "Its ZenML server has not reported its address yet."
        return None


def token_cache(request: Request) -> TokenCache:
    """The process' cache of workspace tokens (``zenml_client.TokenCache``)."""
    state = request.app.state
    cache: TokenCache | None = getattr(state, "workspace_tokens", None)
    if cache is None:
        cache = state.workspace_tokens = TokenCache()
    return cache


async def _exchange_token(request: Request, principal: UserPrincipal, live: Live) -> str:
    """A one-minute ``exchange`` token descending from the request's credential (it ends
    with it, never outlives it) that zenpro accepts for nothing but ``authorize_server``
    of this one workspace: whatever server the workspace's reported URL leads to can only
    sign the user in there. Committed in a session of its own so that the workspace's
    call finds it. The browser's session secret itself never leaves zenpro."""
    async with request.app.state.sessionmaker() as session:
        issued = await auth_service.issue_token(
            session,
            Credential.exchange,
            EXCHANGE_TOKEN_LIFETIME,
            audience=live.id,
            user_id=principal.user_id,
            parent_token_id=principal.token_id,
            api_key_id=principal.api_key_id,
            not_after=principal.expires,
        )
        await session.commit()
    return issued.secret


async def _epochs(db: AsyncSession) -> Epochs | None:
    snap = await snapshot(db)
    if snap is None:
        return None
    seen = snap[1]
    return seen.get(AUTH), seen.get(GRANTS)


@asynccontextmanager
async def reading(
    request: Request, db: AsyncSession, principal: UserPrincipal, live: Live, settings: Settings
) -> AsyncIterator[Reader]:
    """A :class:`Reader` of ``live``'s server as ``principal``, with the cached token
    (exchanged on a miss, or again on a 401). The request's transaction is ended first:
    no database connection or lock is held while the workspace is awaited, and it calls
    zenpro back."""
    epochs = await _epochs(db)
    await db.commit()
    assert live.url is not None
    credential_id = principal.token_id or principal.api_key_id or principal.user_id
    # the server's URL too: a workspace token goes only to the server that issued it
    key: Key = (principal.user_id, credential_id, live.id, live.url)
    cache = token_cache(request)
    lock = asyncio.Lock()
    async with client(settings.workspace_page_timeout_seconds) as http:
        base = live.url.rstrip("/")

        held: list[str] = []  # the page's current token (also when not cacheable)

        async def credential(refused: str | None) -> str:
            async with lock:  # the page's parallel reads share one exchange
                if held and held[-1] != refused:
                    return held[-1]  # another read has exchanged again already
                token = None if refused else cache.get(key, epochs)
                if token is None:
                    cache.drop(key)
                    token, expires_in = await exchange(
                        http, base, await _exchange_token(request, principal, live)
                    )
                    cache.put(key, token, expires_in, epochs)
                held.append(token)
                return token

        yield Reader(http, base, credential)


async def within(settings: Settings, work: Awaitable[T]) -> T:
    """``work``, or :class:`Unreachable` once the page's timeout has passed."""
    seconds = settings.workspace_page_timeout_seconds
    try:
        async with asyncio.timeout(seconds):
            return await work
    except TimeoutError:
        raise Unreachable(
            f"The workspace server did not answer within {seconds:g} seconds."
        ) from None


async def attempt(work: Awaitable[T]) -> T | WorkspaceProblem:
    """A read whose refusal is shown in its own section (the rest of the page stays);
    parallel reads all end, then :func:`settle` raises what concerns the whole page."""
    try:
        return await work
    except WorkspaceProblem as exc:
        return exc


def settle(*results: object) -> None:
    """A refused sign-in or an unreachable server is said once, for the whole page."""
    for r in results:
        if isinstance(r, (SignInRefused, Unreachable)):
            raise r
