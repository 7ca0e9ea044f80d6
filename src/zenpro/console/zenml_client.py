"""A workspace's ZenML server, read for one console user with that user's own rights.

zenpro signs the user in at the workspace the way ZenML's own clients do
(``POST <ws>/api/v1/login``, grant ``zenml-external``, ``Authorization: Bearer`` a
control-plane token of the user, no ``Origin``: spec browser-handoff.md), so the
workspace asks zenpro's ``authorize_server`` and RBAC and the page shows exactly what the
user's roles allow. The control-plane token sent is not the browser's session: it is a
one-minute child of it (``auth.service.issue_token``, lineage to the session), so the
workspace never holds a credential that outlives the sign-in it was for.

The workspace's token is cached per (user, credential, workspace) until shortly before it
expires, never shown, never logged; entries are valid only under the auth and grants
epochs they were made under (``kit.cache``), so a logout, a revoked session or a changed
role anywhere empties them, on every instance.

Everything the workspace sends is untrusted: bodies are size-capped, parsed into the
shapes below (a shape that does not fit is :class:`Unreadable`), and rendered escaped.
Every failure is a :class:`WorkspaceProblem` with words for the page, never a 500.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

MAX_BODY = 4 * 1024 * 1024  # bytes of one answer: a workspace cannot fill zenpro's memory
MAX_TOKEN = 16 * 1024
REFRESH_MARGIN = 120.0  # seconds before the workspace token's expiry it is exchanged again
M = TypeVar("M", bound=BaseModel)


class WorkspaceProblem(Exception):
    """The workspace could not be read; ``message`` says why, in words for the page;
    ``status`` is what a page made only of workspace data answers."""

    status = 502

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unreachable(WorkspaceProblem):
    """Down, slow (past the timeout) or failing (5xx)."""

    status = 504


class Unreadable(WorkspaceProblem):
    """An answer that is not what a ZenML 0.98 server sends."""

    status = 502


class Refused(WorkspaceProblem):
    """403: the user's role does not allow this read."""

    status = 403


class SignInRefused(WorkspaceProblem):
    """The workspace did not sign the user in (zenpro's authorize_server refused them)."""

    status = 403


class Missing(WorkspaceProblem):
    """404 from the workspace: no such object (or one the user may not see)."""

    status = 404


ROLE_REFUSED = "Your role does not allow this."


# --- Cache of workspace tokens -------------------------------------------------------

# (user, credential of the request, workspace, the URL its server reported)
Key = tuple[uuid.UUID, uuid.UUID, uuid.UUID, str]
Epochs = tuple[int | None, int | None]  # (auth, grants) the request saw


@dataclass(frozen=True, slots=True)
class _Entry:
    token: str
    refresh_at: float  # time.monotonic()
    epochs: Epochs


class TokenCache:
    """Workspace tokens by (user, credential, workspace): an entry serves until
    ``REFRESH_MARGIN`` seconds before the token expires, and only under the epochs it was
    stored under. Bounded (least recently used out); stale entries are dropped whenever
    one is stored or found stale."""

    def __init__(self, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[Key, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Key, epochs: Epochs | None) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if epochs is None or entry.epochs != epochs or self.clock() >= entry.refresh_at:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry.token

    def put(self, key: Key, token: str, expires_in: float, epochs: Epochs | None) -> None:
        """Keep ``token`` (valid ``expires_in`` seconds from now); nothing is kept without
        epochs (the caches cannot be trusted now) or for a token too short-lived."""
        self.purge(epochs)
        lifetime = expires_in - REFRESH_MARGIN
        if epochs is None or lifetime <= 0:
            return
        self._entries[key] = _Entry(token, self.clock() + lifetime, epochs)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def drop(self, key: Key) -> None:
        self._entries.pop(key, None)

    def purge(self, epochs: Epochs | None) -> None:
        """Forget every entry made under other epochs or past its refresh time."""
        now = self.clock()
        stale = [k for k, e in self._entries.items() if e.epochs != epochs or now >= e.refresh_at]
        for k in stale:
            del self._entries[k]


# --- What a ZenML 0.98 server sends (only the parts shown) ---------------------------


class _Shape(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def _utc(value: datetime | None) -> datetime | None:
    # ZenML sends naive UTC times.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class Named(_Shape):
    id: uuid.UUID
    name: str | None = None


class _Times(_Shape):
    created: datetime | None = None

    @field_validator("created")
    @classmethod
    def _as_utc(cls, v: datetime | None) -> datetime | None:
        return _utc(v)


class ProjectBody(_Times):
    display_name: str | None = None


class Project(_Shape):
    id: uuid.UUID
    name: str
    permission_denied: bool = False
    body: ProjectBody | None = None


class PipelineResources(_Shape):
    latest_run_id: uuid.UUID | None = None
    latest_run_status: str | None = None


class Pipeline(_Shape):
    id: uuid.UUID
    name: str
    permission_denied: bool = False
    body: _Times | None = None
    resources: PipelineResources | None = None


class RunBody(_Times):
    status: str = "unknown"
    project_id: uuid.UUID | None = None
    pipeline_id: uuid.UUID | None = None


class RunMetadata(_Shape):
    start_time: datetime | None = None
    end_time: datetime | None = None

    @field_validator("start_time", "end_time")
    @classmethod
    def _as_utc(cls, v: datetime | None) -> datetime | None:
        return _utc(v)


class RunResources(_Shape):
    pipeline: Named | None = None
    stack: Named | None = None
    user: Named | None = None


class Run(_Shape):
    id: uuid.UUID
    name: str
    permission_denied: bool = False
    body: RunBody | None = None
    metadata: RunMetadata | None = None
    resources: RunResources | None = None

    @property
    def status(self) -> str:
        return self.body.status if self.body else "unknown"

    @property
    def duration(self) -> float | None:
        m = self.metadata
        if m is None or m.start_time is None or m.end_time is None:
            return None
        seconds = (m.end_time - m.start_time).total_seconds()
        return seconds if seconds >= 0 else None


class NodeMetadata(_Shape):
    model_config = ConfigDict(extra="ignore", frozen=True)
    status: str | None = None
    duration: float | None = Field(None, ge=0, allow_inf_nan=False)
    start_time: datetime | None = None

    @field_validator("start_time")
    @classmethod
    def _as_utc(cls, v: datetime | None) -> datetime | None:
        return _utc(v)


class Node(_Shape):
    node_id: str
    type: str
    id: uuid.UUID | None = None
    name: str
    metadata: NodeMetadata = Field(default_factory=NodeMetadata)


class Edge(_Shape):
    source: str
    target: str


class Dag(_Shape):
    id: uuid.UUID
    status: str
    nodes: list[Node]
    edges: list[Edge]


class ComponentBody(_Times):
    type: str | None = None
    flavor_name: str | None = None
    integration: str | None = None


class Component(_Shape):
    id: uuid.UUID
    name: str
    permission_denied: bool = False
    body: ComponentBody | None = None


class StackMetadata(_Shape):
    components: dict[str, list[Component]] = Field(default_factory=dict)
    description: str | None = None


class Stack(_Shape):
    id: uuid.UUID
    name: str
    permission_denied: bool = False
    body: _Times | None = None
    metadata: StackMetadata | None = None


class Listing(_Shape, Generic[M]):
    total: int = Field(ge=0)
    items: list[M]


def parse(shape: type[M], data: Any) -> M:
    try:
        return shape.model_validate(data)
    except ValidationError as exc:
        # Keys in a location come from the workspace: shortened (and escaped when shown).
        where = ", ".join(".".join(str(p)[:40] for p in e["loc"]) for e in exc.errors()[:3])
        raise Unreadable(
            f"The workspace sent an answer zenpro cannot read ({shape.__name__}: {where})"
        ) from None


# --- Talking to the workspace --------------------------------------------------------


def _problem_of(response_status: int, what: str) -> WorkspaceProblem:
    if response_status == 403:
        return Refused(ROLE_REFUSED)
    if response_status == 404:
        return Missing(f"The workspace has no such {what}, or you may not see it.")
    if response_status >= 500:
        return Unreachable(f"The workspace server failed to answer ({response_status}).")
    return Unreadable(f"The workspace answered {response_status} when asked for {what}.")


async def _send(http: httpx.AsyncClient, request: httpx.Request) -> tuple[int, bytes]:
    """Send, reading at most MAX_BODY bytes; transport failures are Unreachable."""
    try:
        response = await http.send(request, stream=True)
        try:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_BODY:
                    raise Unreadable("The workspace sent an answer too large to show.")
            return response.status_code, bytes(body)
        finally:
            await response.aclose()
    except httpx.TimeoutException:
        raise Unreachable("The workspace server did not answer in time.") from None
    except httpx.HTTPError:
        raise Unreachable("The workspace server cannot be reached.") from None


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested too deep to read
        raise Unreadable("The workspace sent an answer that is not JSON.") from None


class TokenAnswer(_Shape):
    # sent back as a header: printable ASCII only (RFC 6750 b64token and more), else unreadable
    access_token: str = Field(min_length=1, max_length=MAX_TOKEN, pattern=r"^[\x21-\x7e]+$")
    expires_in: float | None = Field(None, ge=0, le=86_400, allow_inf_nan=False)


async def exchange(http: httpx.AsyncClient, base: str, cp_token: str) -> tuple[str, float]:
    """The workspace's token for the holder of ``cp_token``, and its lifetime in seconds.
    No Origin or Referer is sent: the token is then a plain Bearer (no CSRF binding)."""
    request = http.build_request(
        "POST",
        f"{base}/api/v1/login",
        data={"grant_type": "zenml-external"},
        headers={"Authorization": f"Bearer {cp_token}", "Accept": "application/json"},
    )
    status, body = await _send(http, request)
    if status in (401, 403):
        raise SignInRefused(
            "The workspace did not sign you in: you have no role in this workspace, or "
            "your role does not allow this. Ask an administrator for a workspace role."
        )
    if status != 200:
        raise _problem_of(status, "a sign-in")
    answer = parse(TokenAnswer, _json(body))
    return answer.access_token, answer.expires_in if answer.expires_in is not None else 0.0


# The workspace token to use; given the token the workspace just refused, a new one.
Credential = Callable[[str | None], Awaitable[str]]


class Reader:
    """GETs of one workspace's REST API with the user's workspace token: a 401 is
    answered by one new exchange (the token expired or the server restarted)."""

    def __init__(self, http: httpx.AsyncClient, base: str, credential: Credential) -> None:
        self.http = http
        self.base = base
        self.credential = credential

    async def get(self, path: str, what: str, params: Mapping[str, str] | None = None) -> Any:
        token = await self.credential(None)
        status, body = await self._get(path, params, token)
        if status == 401:
            status, body = await self._get(path, params, await self.credential(token))
            if status == 401:
                raise SignInRefused("The workspace does not accept your sign-in.")
        if status != 200:
            raise _problem_of(status, what)
        return _json(body)

    async def _get(
        self, path: str, params: Mapping[str, str] | None, token: str
    ) -> tuple[int, bytes]:
        request = self.http.build_request(
            "GET",
            f"{self.base}/api/v1{path}",
            params=params,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )
        return await _send(self.http, request)

    async def one(
        self, shape: type[M], path: str, what: str, params: Mapping[str, str] | None = None
    ) -> M:
        return parse(shape, await self.get(path, what, params))

    async def listing(
        self, shape: type[M], path: str, what: str, params: Mapping[str, str] | None = None
    ) -> Listing[M]:
        return parse(Listing[shape], await self.get(path, what, params))  # type: ignore[valid-type]


def client(timeout: float) -> httpx.AsyncClient:
    """An HTTP client for one page: every step bounded by ``timeout`` seconds, no
    redirects followed (a workspace answer is never a hop elsewhere)."""
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout), follow_redirects=False)
