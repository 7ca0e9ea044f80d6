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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import httpx

from bench import wrk
from bench.seed import SIZES, Seeded, seed
from tests.fixtures.db import fresh_postgres, fresh_sqlite
from zenpro.auth.deps import COOKIE_NAME
from zenpro.authz.vocabulary import ORG_MEMBER_ID
from zenpro.kit.db import make_engine

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """One uvicorn process (one worker), with its RSS sampled while it runs."""

    def __init__(self, app: str, env: dict[str, str], factory: bool = False) -> None:
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
            "1",
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

    def _sample(self) -> None:
        status = Path(f"/proc/{self.proc.pid}/status")
        while not self._stop.wait(0.5):
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        self.max_rss_mb = max(self.max_rss_mb, int(line.split()[1]) / 1024)
            except OSError:
                return

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
    body = ep.body and re.sub(r"\{uuid\}", lambda _: str(uuid.uuid4()), ep.body)  # as wrk does
    r = httpx.request(ep.method, base + ep.path, headers=dict(ep.headers), content=body)
    if not r.is_success:
        raise SystemExit(f"{ep.name}: {r.status_code} {r.text[:200]}")


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


def one_round(seeded: Seeded, db_url: str, duration: int) -> tuple[dict[str, Row], float]:
    results: dict[str, Row] = {}
    with Server("bench.hello:app", {}) as hello:
        wrk.run(hello.url + "/", duration=1)
        r = wrk.run(hello.url + "/", duration=duration)
        results["hello-world ceiling"] = {"rps": r.rps, "p50": r.p50_ms, "p99": r.p99_ms}
    with Server("zenpro.main:create_app", zenpro_env(db_url), factory=True) as zp:
        for ep in endpoints(seeded):
            answers(zp.url, ep)
            writer = None
            if ep.background:
                writer = Writer(zp.url, seeded, ep.background, WRITES_PER_SECOND)
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


def median_rows(rounds: list[dict[str, Row]]) -> dict[str, Row]:
    return {
        name: {k: statistics.median(r[name][k] for r in rounds) for k in ("rps", "p50", "p99")}
        for name in rounds[0]
    }


def table(size: str, backend: str, rows: dict[str, Row], rss: float, runs: int) -> str:
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
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--size", default="1k", help="1k, 100k or 1k,100k")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--duration", type=int, default=10, help="seconds per endpoint")
    parser.add_argument("--runs", type=int, default=1, help="rounds; the median is reported")
    args = parser.parse_args()
    sizes = [s.strip() for s in args.size.split(",")]
    backend = "SQLite" if args.sqlite else "PostgreSQL"
    wrk.ensure_wrk()
    tables, medians = [], {}
    for size in sizes:
        db_url, seeded = asyncio.run(prepare(size, args.sqlite))
        rounds, rss = [], 0.0
        for i in range(args.runs):
            print(f"[{size}] round {i + 1}/{args.runs}", flush=True)
            res, round_rss = one_round(seeded, db_url, args.duration)
            rounds.append(res)
            rss = max(rss, round_rss)
        medians[size] = median_rows(rounds)
        tables.append(table(size, backend, medians[size], rss, args.runs))
    if len(sizes) > 1:
        tables.append(growth(sizes[0], sizes[-1], medians))
    machine = f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()}"
    report = (
        f"## zenpro benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n\nMachine: {machine}\n\n"
    )
    report += "\n\n".join(tables) + "\n"
    print(report)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    suffix = "-sqlite" if args.sqlite else ""  # a SQLite run never replaces the PostgreSQL one
    (results / f"{datetime.now(UTC):%Y-%m-%d}{suffix}.md").write_text(report)
    return 0


def growth(small: str, large: str, medians: dict[str, dict[str, Row]]) -> str:
    out = [
        f"### cost of {large} relative to {small} (req/s ratio; ≤ 1.25 means flat)",
        "",
        "| endpoint | cost x  |",
        "|---|---:|",
    ]
    for name in medians[small]:
        if name == "hello-world ceiling":
            continue
        ceiling_s = medians[small]["hello-world ceiling"]["rps"]
        ceiling_l = medians[large]["hello-world ceiling"]["rps"]
        # normalise by each round's own ceiling to cancel machine noise between sizes
        s = medians[small][name]["rps"] / ceiling_s
        large_rel = medians[large][name]["rps"] / ceiling_l
        out.append(f"| {name} | {s / large_rel:.2f} |")
    return "\n".join(out)


if __name__ == "__main__":
    raise SystemExit(main())
