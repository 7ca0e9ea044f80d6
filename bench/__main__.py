"""`python -m bench` — zenpro against a bare FastAPI hello-world, side by side.

Starts each server with one uvicorn worker, seeds a dataset, runs wrk (2 threads,
32 connections) per endpoint, and prints one table per dataset size with req/s, p50,
p99 and the ratio to the hello-world ceiling measured in the same round. Repeats
`--runs` rounds and reports the median of each figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx

from bench import wrk
from bench.seed import SIZES, Seeded, seed
from tests.fixtures.db import fresh_postgres, fresh_sqlite
from zenpro.auth.deps import COOKIE_NAME
from zenpro.authz.vocabulary import ORG_MEMBER_ID
from zenpro.kit.db import make_engine
from zenpro.models.role_alias import alias_id

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    # 1: one request at a time, so p50/p99 are the page's own render time, not queueing
    connections: int = 32
    # measured while a writer makes WRITES_PER_SECOND writes elsewhere (``Writer``)
    background: Literal["grants", "neutral"] | None = None
    # the writer's requests go to a second zenpro instance on the same database (as a sync
    # job behind a load balancer would reach another instance): what the measured instance
    # pays is then the invalidation alone, not the CPU of serving the writes
    writes_elsewhere: bool = False
    # the answer must be a JSON array of this many items (a deep page must be a full one)
    items: int | None = None


WRITES_PER_SECOND = 20


class Writer(threading.Thread):
    """Writes elsewhere while an endpoint is measured: ``grants`` assigns and revokes Organization
    Member of unrelated users in organizations far from the bench user (each a write that
    moves what permissions depend on); ``neutral`` changes those organizations' descriptions
    (a write that changes no permission). Paced to a fixed rate, each write on one of a few
    threads so that a slow answer under load does not lower the rate; counts what it did."""

    def __init__(self, base: str, seeded: Seeded, kind: str, rate: int) -> None:
        super().__init__(daemon=True)
        self.client = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {seeded.admin_token}"}
        )
        self.pairs, self.kind, self.interval = seeded.elsewhere, kind, 1 / rate
        self.pool = ThreadPoolExecutor(max_workers=4)
        self.stopping = threading.Event()
        self.outcomes: list[Future[bool]] = []
        self.started_at = self.stopped_at = 0.0
        for org, user in self.pairs:  # none held: the first write of each pair is a grant
            self._grant(org, user, False)

    def _grant(self, org: uuid.UUID, user: uuid.UUID, on: bool) -> httpx.Response:
        return self.client.request(
            "POST" if on else "DELETE",
            f"/roles/{ORG_MEMBER_ID}/assignments",
            params={"user_id": str(user), "organization_id": str(org)},
        )

    def _write(self, i: int) -> bool:
        # pair k is written every len(pairs) ticks: granted, then revoked, then granted…
        org, user = self.pairs[i % len(self.pairs)]
        if self.kind == "neutral":
            r = self.client.patch(f"/organizations/{org}", json={"description": f"rev {i}"})
        else:
            r = self._grant(org, user, (i // len(self.pairs)) % 2 == 0)
        return r.is_success

    def run(self) -> None:
        self.started_at = time.monotonic()
        i = 0
        while not self.stopping.is_set():
            self.outcomes.append(self.pool.submit(self._write, i))
            i += 1
            self.stopping.wait(max(0.0, self.started_at + i * self.interval - time.monotonic()))
        self.stopped_at = time.monotonic()

    def stop(self) -> tuple[float, int]:
        """Stop; the achieved rate of successful writes per second, and the failures."""
        self.stopping.set()
        self.join()
        self.pool.shutdown(wait=True)
        self.client.close()
        ok = sum(f.result() for f in self.outcomes)
        return ok / max(1e-9, self.stopped_at - self.started_at), len(self.outcomes) - ok


def endpoints(s: Seeded) -> list[Endpoint]:
    bearer = (("Authorization", f"Bearer {s.session_token}"),)
    pat = (("Authorization", f"Bearer {s.api_key}"),)
    machine = (("Authorization", f"Bearer {s.machine_token}"), ("Content-Type", "application/json"))
    one = json.dumps([f"{s.project_id}:pipeline/{s.workspace_id}"])
    stacks = [f"stack/{i:08d}-0000-4000-8000-000000000000" for i in range(9)]
    ten = json.dumps([f"{s.project_id}:pipeline/{s.workspace_id}", *stacks])
    # The same ten with nine ids new on every request (wrk fills "{uuid}"): no help from
    # the memo of parsed resource strings.
    fresh = json.dumps(json.loads(ten)[:1] + ["stack/{uuid}"] * 9)
    form = (("Content-Type", "application/x-www-form-urlencoded"),)
    cookie = (("Cookie", f"{COOKIE_NAME}={s.session_token}"),)
    admin = (("Authorization", f"Bearer {s.admin_token}"),)
    hot = f"/rbac/check_permissions?user_id={s.user_id}&action=read"
    return [
        Endpoint("/health", "/health"),
        Endpoint("GET /users/me (session)", "/users/me", headers=bearer),
        Endpoint("GET /users/me (PAT)", "/users/me", headers=pat),
        Endpoint(
            "check_permissions x1",
            f"/rbac/check_permissions?user_id={s.user_id}&action=read",
            "POST",
            machine,
            one,
        ),
        Endpoint(
            "check_permissions x10",
            f"/rbac/check_permissions?user_id={s.user_id}&action=read",
            "POST",
            machine,
            ten,
        ),
        Endpoint(
            f"check_permissions x10, {WRITES_PER_SECOND} grant writes/s elsewhere",
            hot,
            "POST",
            machine,
            ten,
            background="grants",
        ),
        Endpoint(
            f"check_permissions x10, {WRITES_PER_SECOND} neutral writes/s elsewhere",
            hot,
            "POST",
            machine,
            ten,
            background="neutral",
        ),
        Endpoint(
            f"check_permissions x10, {WRITES_PER_SECOND} grant writes/s via a 2nd instance",
            hot,
            "POST",
            machine,
            ten,
            background="grants",
            writes_elsewhere=True,
        ),
        Endpoint(
            "check_permissions x10, fresh ids",
            f"/rbac/check_permissions?user_id={s.user_id}&action=read",
            "POST",
            machine,
            fresh,
        ),
        Endpoint(
            "allowed_resource_ids",
            f"/rbac/allowed_resource_ids?user_id={s.user_id}&resource=stack&action=read",
            headers=machine,
        ),
        Endpoint(
            "GET /workspaces member_only", "/workspaces?member_only=True&limit=20", headers=bearer
        ),
        Endpoint(
            "GET /organizations/{id}/members",
            f"/organizations/{s.organization_id}/members",
            headers=bearer,
        ),
        Endpoint("GET /users/{id} (superuser)", f"/users/{s.other_user_id}", headers=admin),
        Endpoint("GET /users?limit=10 (superuser)", "/users?limit=10", headers=admin),
        Endpoint(
            "GET /users?limit=10&offset=5000 (superuser)",
            "/users?limit=10&offset=5000",
            headers=admin,
        ),
        Endpoint(
            "console organization page (1 connection)",
            f"/console/organizations/{s.organization_id}",
            headers=cookie,
            connections=1,
        ),
        Endpoint(
            "POST /auth/login (password)",
            "/auth/login",
            "POST",
            form,
            f"username={s.username}&password={s.password}",
        ),
    ]


# Where the deep rows of the lists start: a cursor at this row (or at the last full page of
# a shorter list), found once with offset paging before the row is measured.
DEEP = 5_000
PAGE = 20


@dataclass(frozen=True)
class Listed:
    """One paged list endpoint, as the credential that sees the most of it reads it."""

    name: str  # the route, e.g. "/organizations/{id}/members (bench org admin)"
    path: str
    headers: tuple[tuple[str, str], ...]


def lists(s: Seeded) -> list[Listed]:
    admin = (("Authorization", f"Bearer {s.admin_token}"),)
    me = (("Authorization", f"Bearer {s.session_token}"),)
    org = f"/organizations/{s.organization_id}"
    su, mine, oa = "(superuser)", "(bench user's own)", "(bench org admin)"
    member_alias = alias_id(s.organization_id, ORG_MEMBER_ID)
    return [
        Listed(f"/users {su}", "/users", admin),
        Listed(f"/organizations {su}", "/organizations", admin),
        Listed(f"/workspaces {su}", "/workspaces", admin),
        Listed(f"/audit_events {su}", "/audit_events", admin),
        Listed(
            f"/roles/{{Organization Member}}/assignments, all orgs {su}",
            f"/roles/{ORG_MEMBER_ID}/assignments",
            admin,
        ),
        Listed(f"/users/me/api_keys {mine}", "/users/me/api_keys", me),
        Listed(f"/users/me/sessions {mine}", "/users/me/sessions", me),
        Listed(f"/users/me/devices {mine}", "/users/me/devices", me),
        Listed(f"/organizations/{{id}}/members {oa}", f"{org}/members", me),
        Listed(f"/workspaces/{{id}}/members {oa}", f"/workspaces/{s.workspace_id}/members", me),
        Listed(f"/organizations/{{id}}/workspaces {oa}", f"{org}/workspaces", me),
        Listed(f"/organizations/{{id}}/teams {oa}", f"{org}/teams", me),
        Listed(f"/teams/{{id}}/members {oa}", f"/teams/{s.team_id}/members", me),
        Listed(f"/organizations/{{id}}/invitations {oa}", f"{org}/invitations", me),
        Listed(f"/organizations/{{id}}/roles {oa}", f"{org}/roles", me),
        Listed(
            f"/roles/{{org's Organization Member}}/assignments {oa}",
            f"/roles/{member_alias}/assignments",
            me,
        ),
        Listed(f"/organizations/{{id}}/service_accounts {oa}", f"{org}/service_accounts", me),
        Listed(
            f"/organizations/{{id}}/service_accounts/{{sa_id}}/api_keys {oa}",
            f"{org}/service_accounts/{s.service_account_id}/api_keys",
            me,
        ),
        Listed(f"/organizations/{{id}}/audit_events {oa}", f"{org}/audit_events", me),
    ]


def _query(path: str, **params: object) -> str:
    return path + ("&" if "?" in path else "?") + "&".join(f"{k}={v}" for k, v in params.items())


def _next_cursor(r: httpx.Response) -> str | None:
    m = re.search(r'<([^>]*)>\s*;\s*rel="next"', r.headers.get("link", ""))
    if m is None:
        return None
    found = parse_qs(urlsplit(m[1]).query).get("cursor")
    return found[0] if found else None


def _length(client: httpx.Client, lst: Listed) -> int:
    """How many items the list has, as far as the deep row needs to know (up to DEEP + PAGE):
    ``X-Total-Count`` when it is given (up to 1000), else probed with offset pages."""
    first = client.get(_query(lst.path, limit=PAGE), headers=dict(lst.headers))
    if not first.is_success:
        raise SystemExit(f"GET {lst.name}: {first.status_code} {first.text[:200]}")
    if "x-total-count" in first.headers:
        return int(first.headers["x-total-count"])

    def has(i: int) -> bool:  # is there an item at offset i?
        r = client.get(_query(lst.path, offset=i, limit=1), headers=dict(lst.headers))
        return bool(r.is_success and r.json())

    lo, hi = 1000, DEEP + PAGE  # more than 1000 (no count); found: items at lo-1
    if has(hi - 1):
        return hi
    while lo < hi:  # the first offset without an item
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if has(mid) else (lo, mid)
    return lo


def list_rows(base: str, s: Seeded) -> tuple[list[Endpoint], dict[str, int]]:
    """Two rows per list: page 1, and a cursor page at row DEEP (or the last full page),
    the cursor taken once from the ``Link`` header of the offset page before it. Also
    which row each deep page starts at."""
    rows: list[Endpoint] = []
    at: dict[str, int] = {}
    with httpx.Client(base_url=base, timeout=60) as client:
        for lst in lists(s):
            rows.append(
                Endpoint(
                    f"GET {lst.name} page 1", _query(lst.path, limit=PAGE), headers=lst.headers
                )
            )
            k = min(DEEP, _length(client, lst) - PAGE)
            if k < 1:
                print(f"  ! {lst.name}: too short for a deep page", flush=True)
                continue
            before = _query(lst.path, offset=max(0, k - PAGE), limit=min(PAGE, k))
            cursor = _next_cursor(client.get(before, headers=dict(lst.headers)))
            if cursor is None:
                raise SystemExit(f"GET {lst.name}: no Link rel=next after row {k}")
            name = f"GET {lst.name} deep (cursor)"
            path = _query(lst.path, cursor=cursor, limit=PAGE)
            rows.append(Endpoint(name, path, headers=lst.headers, items=PAGE))
            at[name] = k
    return rows, at


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A uvicorn server (one worker unless ``workers``), with its RSS sampled while it runs
    (with several workers: the largest sum over the supervisor and its worker processes)."""

    def __init__(
        self, app: str, env: dict[str, str], factory: bool = False, workers: int = 1
    ) -> None:
        self.port = free_port()
        cmd = [
            PY,
            "-m",
            "uvicorn",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        if factory:
            cmd.append("--factory")
        self.proc = subprocess.Popen(cmd, env={**os.environ, **env}, cwd=ROOT)
        self.max_rss_mb = 0.0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _pids(self) -> list[int]:
        pid = self.proc.pid
        children = Path(f"/proc/{pid}/task/{pid}/children")
        try:
            return [pid, *(int(c) for c in children.read_text().split())]
        except OSError:
            return [pid]

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            total = 0.0
            for pid in self._pids():
                try:
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1]) / 1024
                except OSError:
                    continue
            if self.proc.poll() is not None:
                return
            self.max_rss_mb = max(self.max_rss_mb, total)

    def __enter__(self) -> Server:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/", timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise SystemExit(f"server on {self.url} did not start")
        self._sampler.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def zenpro_env(db_url: str) -> dict[str, str]:
    return {
        "ZENPRO_DATABASE_URL": db_url,
        "ZENPRO_LOG_LEVEL": "WARNING",
        "ZENPRO_RECONCILER_ENABLED": "false",
        # wrk hammers one principal far beyond any sane budget, and a moving window that
        # large costs memory and CPU of its own: the limiter is measured apart (bench/NOTES.md).
        "ZENPRO_RATELIMIT_ENABLED": "false",
    }


async def prepare(size: str, sqlite: bool) -> tuple[str, Seeded]:
    url = await (fresh_sqlite(f"_bench_{size}") if sqlite else fresh_postgres(f"_bench_{size}"))
    engine = make_engine(url)
    try:
        started = time.monotonic()
        seeded = await seed(engine, size)
        print(f"[{size}] seeded {SIZES[size]} in {time.monotonic() - started:.1f}s", flush=True)
    finally:
        await engine.dispose()
    return url, seeded


Row = dict[str, float]


def answers(base: str, ep: Endpoint) -> None:
    """One request first: the endpoint must answer 2xx (wrk counts a redirect as success,
    so a console page sending the bench's user to /login would otherwise be measured)."""
    body = ep.body and _fresh(ep.body)  # as wrk does
    for attempt in range(2):  # a 503 right after the previous row: let its queue drain
        try:
            r = httpx.request(
                ep.method,
                base + _fresh(ep.path),
                headers=dict(ep.headers),
                content=body,
                timeout=30,
            )
        except httpx.HTTPError as exc:
            raise SystemExit(f"{ep.name}: {exc!r}") from exc
        if r.status_code != 503 or attempt:
            break
        print(f"  ! {ep.name}: 503 once, retrying in 5 s", flush=True)
        time.sleep(5)
    if not r.is_success:
        raise SystemExit(f"{ep.name}: {r.status_code} {r.text[:200]}")
    if ep.items is not None and len(r.json()) != ep.items:
        raise SystemExit(f"{ep.name}: {len(r.json())} items, not {ep.items}")


def _fresh(text: str) -> str:
    return re.sub(r"\{uuid\}", lambda _: str(uuid.uuid4()), text)


def hit(base: str, ep: Endpoint, duration: int) -> wrk.Result:
    return wrk.run(
        base + ep.path,
        method=ep.method,
        headers=dict(ep.headers),
        body=ep.body,
        duration=duration,
        threads=min(2, ep.connections),
        connections=ep.connections,
    )


def one_round(
    seeded: Seeded, db_url: str, duration: int, at: dict[str, int]
) -> tuple[dict[str, Row], float]:
    """One round of every row; ``at`` receives the row each deep list page starts at."""
    results: dict[str, Row] = {}
    with Server("bench.hello:app", {}) as hello:
        wrk.run(hello.url + "/", duration=1)
        r = wrk.run(hello.url + "/", duration=duration)
        results["hello-world ceiling"] = {"rps": r.rps, "p50": r.p50_ms, "p99": r.p99_ms}
    with (
        Server("zenpro.main:create_app", zenpro_env(db_url), factory=True) as zp,
        ExitStack() as later,
    ):
        second: Server | None = None
        eps = endpoints(seeded)
        listed, positions = list_rows(zp.url, seeded)
        at.update(positions)
        for ep in eps[:-1] + listed + eps[-1:]:  # logins last, as before
            answers(zp.url, ep)
            writer = None
            if ep.background:
                target = zp
                if ep.writes_elsewhere:
                    if second is None:
                        env = zenpro_env(db_url)
                        second = later.enter_context(
                            Server("zenpro.main:create_app", env, factory=True)
                        )
                    target = second
                writer = Writer(target.url, seeded, ep.background, WRITES_PER_SECOND)
                writer.start()
            hit(zp.url, ep, 1)  # warm-up, not measured
            r = hit(zp.url, ep, duration)
            if writer is not None:
                rate, failed = writer.stop()
                if failed or rate < 0.9 * WRITES_PER_SECOND:
                    print(f"  ! {ep.name}: {rate:.1f} writes/s, {failed} failed", flush=True)
            if r.non_2xx or r.errors:
                print(f"  ! {ep.name}: {r.non_2xx} non-2xx, {r.errors} socket errors", flush=True)
            results[ep.name] = {"rps": r.rps, "p50": r.p50_ms, "p99": r.p99_ms}
        rss = zp.max_rss_mb
    return results, rss


# --- capacity: several worker processes on one PostgreSQL -------------------------------

_STATS = """
SELECT
  (SELECT coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0) FROM pg_stat_user_tables
    WHERE relname = 'cache_epochs'),
  (SELECT coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0) FROM pg_stat_user_tables),
  (SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database())
"""
# Backends flush their statistics when idle, at most once a second (PostgreSQL 15): wait
# this long after a run before reading the counters.
SETTLE = 1.5


@dataclass(frozen=True)
class Load:
    """PostgreSQL's cumulative counters for the bench database at one moment."""

    at: float
    fences: int  # scans of cache_epochs: the epoch reads
    scans: int  # scans of every table: statements, roughly
    xacts: int  # transactions committed or rolled back

    @staticmethod
    def read(db_url: str) -> Load:
        async def go() -> Load:
            conn = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
            try:
                await conn.execute("SELECT pg_stat_clear_snapshot()")
                fences, scans, xacts = await conn.fetchrow(_STATS)
                return Load(time.monotonic(), int(fences), int(scans), int(xacts))
            finally:
                await conn.close()

        return asyncio.run(go())

    def __sub__(self, before: Load) -> Load:
        return Load(
            self.at - before.at,
            self.fences - before.fences,
            self.scans - before.scans,
            self.xacts - before.xacts,
        )


def capacity_rows(s: Seeded, processes: int) -> list[Endpoint]:
    """The hot-path rows of :func:`endpoints` at 32 connections per worker, and a miss row."""
    c = 32 * processes
    by_name = {ep.name: ep for ep in endpoints(s)}
    hot = by_name["check_permissions x10"]
    # a user nobody has asked about: the grants are not cached (a miss every request)
    unknown = replace(
        hot,
        name="check_permissions x10, unknown user each request",
        path="/rbac/check_permissions?user_id={uuid}&action=read",
    )
    names = (
        "check_permissions x10",
        "check_permissions x10, fresh ids",
        f"check_permissions x10, {WRITES_PER_SECOND} grant writes/s elsewhere",
    )
    rows = [by_name[n] for n in names]
    return [replace(ep, connections=c) for ep in [*rows[:2], unknown, rows[2]]]


def capacity(size: str, s: Seeded, db_url: str, counts: list[int], duration: int) -> str:
    """Each row with 1, 2, 4… uvicorn workers (wrk -t2 -c(32 x N)), with what PostgreSQL did in
    the measured window: epoch reads (scans of ``cache_epochs``), transactions, table scans.
    The counters also see the idle epoch keep-alive of each worker (at most one read a
    second when no request came); that idle rate is measured first and subtracted."""
    out = [
        f"### capacity: {size} dataset, PostgreSQL, N uvicorn workers on one database, "
        f"wrk -t2 -c(32 x N), {duration} s a row",
        "",
        "| workers | endpoint | req/s | req/s per worker | p50 ms | p99 ms | epoch reads/s "
        "| epoch reads/req | xacts/s | xacts/req | table scans/req |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes: list[str] = []
    for n in counts:
        with Server("zenpro.main:create_app", zenpro_env(db_url), factory=True, workers=n) as zp:
            rows = capacity_rows(s, n)
            wrk.run(zp.url + "/health", duration=2, connections=32 * n)  # every worker up
            time.sleep(SETTLE)
            idle_from = Load.read(db_url)
            time.sleep(3)
            idle = Load.read(db_url) - idle_from
            notes.append(
                f"{n} worker(s) idle: {idle.fences / idle.at:.1f} epoch reads/s, "
                f"{idle.xacts / idle.at:.1f} xacts/s (subtracted outside the measured seconds)"
            )
            for ep in rows:
                answers(zp.url, ep)
                writer = None
                if ep.background:
                    writer = Writer(zp.url, s, ep.background, WRITES_PER_SECOND)
                    writer.start()
                hit(zp.url, ep, 1)  # warm-up, not measured
                time.sleep(SETTLE)
                before = Load.read(db_url)
                r = hit(zp.url, ep, duration)
                if writer is not None:
                    rate, failed = writer.stop()
                    notes.append(f"{n} worker(s), {ep.name}: {rate:.1f} writes/s, {failed} failed")
                time.sleep(SETTLE)
                d = Load.read(db_url) - before
                # the window is the run plus the settling: take the idle rate off the rest
                extra = max(0.0, d.at - r.seconds)
                fences = max(0.0, d.fences - idle.fences / idle.at * extra)
                xacts = max(0.0, d.xacts - idle.xacts / idle.at * extra)
                reqs = max(1, r.requests)
                if r.non_2xx or r.errors:
                    print(f"  ! {ep.name}: {r.non_2xx} non-2xx, {r.errors} errors", flush=True)
                out.append(
                    f"| {n} | {ep.name} | {r.rps:.0f} | {r.rps / n:.0f} | {r.p50_ms:.2f} "
                    f"| {r.p99_ms:.2f} | {fences / r.seconds:.0f} | {fences / reqs:.3f} "
                    f"| {xacts / r.seconds:.0f} | {xacts / reqs:.3f} | {d.scans / reqs:.3f} |"
                )
                print(out[-1], flush=True)
            notes.append(f"{n} worker(s): max RSS (all processes) {zp.max_rss_mb:.0f} MB")
    out += [
        "",
        "epoch reads: scans of `cache_epochs` (`pg_stat_user_tables`); xacts: "
        "`pg_stat_database.xact_commit + xact_rollback` of the bench database (the epoch "
        "reads are autocommit statements, so they are counted there too; the writer's "
        "transactions as well); table scans: `seq_scan + idx_scan` over every table, "
        "roughly the statements that read a table.",
        "",
    ]
    out += [f"- {note}" for note in notes]
    return "\n".join(out)


def median_rows(rounds: list[dict[str, Row]]) -> dict[str, Row]:
    return {
        name: {k: statistics.median(r[name][k] for r in rounds) for k in ("rps", "p50", "p99")}
        for name in rounds[0]
    }


def table(
    size: str, backend: str, rows: dict[str, Row], rss: float, runs: int, at: dict[str, int]
) -> str:
    ceiling = rows["hello-world ceiling"]["rps"]
    out = [
        f"### {size} dataset, {backend}, 1 uvicorn worker, wrk -t2 -c32 "
        f"(median of {runs} run(s)); max worker RSS {rss:.0f} MB",
        "",
        "| endpoint | req/s | p50 ms | p99 ms | vs hello |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, r in rows.items():
        out.append(
            f"| {name} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | "
            f"{r['rps'] / ceiling:.0%} |"
        )
    if at:
        starts = sorted(set(at.values()))
        out += [
            "",
            f"Lists: `?limit={PAGE}`; deep rows: `?cursor=…&limit={PAGE}`, the cursor taken from "
            f"the `Link` header of the offset page before row {DEEP} (or before the last full "
            "page of a shorter list); deep pages started at row "
            + ", ".join(f"{k} ({sum(v == k for v in at.values())} lists)" for k in starts)
            + ".",
        ]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--size", default="1k", help="1k, 100k or 1k,100k")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--duration", type=int, default=10, help="seconds per endpoint")
    parser.add_argument("--runs", type=int, default=1, help="rounds; the median is reported")
    parser.add_argument(
        "--capacity",
        metavar="N,N,…",
        help="instead of the endpoint table: the hot path with N uvicorn worker processes on "
        "one PostgreSQL, with the database's load (e.g. 1,2,4)",
    )
    parser.add_argument("--out", type=Path, help="write the report here instead")
    parser.add_argument("--no-save", action="store_true", help="print the report only")
    args = parser.parse_args()
    sizes = [s.strip() for s in args.size.split(",")]
    capacities = [int(c) for c in args.capacity.split(",")] if args.capacity else []
    if capacities and args.sqlite:
        parser.error("--capacity measures PostgreSQL's load: not with --sqlite")
    backend = "SQLite" if args.sqlite else "PostgreSQL"
    wrk.ensure_wrk()
    tables, medians = [], {}
    for size in sizes:
        db_url, seeded = asyncio.run(prepare(size, args.sqlite))
        if capacities:
            tables.append(capacity(size, seeded, db_url, capacities, args.duration))
            continue
        rounds, rss = [], 0.0
        at: dict[str, int] = {}
        for i in range(args.runs):
            print(f"[{size}] round {i + 1}/{args.runs}", flush=True)
            res, round_rss = one_round(seeded, db_url, args.duration, at)
            rounds.append(res)
            rss = max(rss, round_rss)
        medians[size] = median_rows(rounds)
        tables.append(table(size, backend, medians[size], rss, args.runs, at))
    if len(sizes) > 1 and not capacities:
        tables.append(growth(sizes[0], sizes[-1], medians))
    machine = f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()}"
    report = (
        f"## zenpro benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n\nMachine: {machine}\n\n"
    )
    report += "\n\n".join(tables) + "\n"
    print(report)
    if args.no_save:
        return 0
    # a SQLite run never replaces the PostgreSQL one, nor a capacity run the endpoint table
    suffix = "-capacity" if capacities else "-sqlite" if args.sqlite else ""
    out = args.out or ROOT / "bench" / "results" / f"{datetime.now(UTC):%Y-%m-%d}{suffix}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    print(f"written to {out}")
    return 0


def growth(small: str, large: str, medians: dict[str, dict[str, Row]]) -> str:
    out = [
        f"### cost of {large} relative to {small} (req/s ratio; ≤ 1.25 means flat)",
        "",
        "| endpoint | cost x  |",
        "|---|---:|",
    ]
    for name in medians[small]:
        if name == "hello-world ceiling" or name not in medians[large]:
            continue
        ceiling_s = medians[small]["hello-world ceiling"]["rps"]
        ceiling_l = medians[large]["hello-world ceiling"]["rps"]
        # normalise by each round's own ceiling to cancel machine noise between sizes
        s = medians[small][name]["rps"] / ceiling_s
        large_rel = medians[large][name]["rps"] / ceiling_l
        cost = f"{s / large_rel:.2f}" if large_rel > 0 else "no answer in time"
        out.append(f"| {name} | {cost} |")
    return "\n".join(out)


if __name__ == "__main__":
    raise SystemExit(main())
