"""Schemathesis against the in-process ASGI app, once per credential kind.

The app runs under schemathesis' own ASGI portal (its own event loop and lifespan), so it
gets its own database (``…_fuzz``) rather than the suite's shared ``app`` fixture.
Seed data is made through the API, so every credential is a real one.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from fastapi import FastAPI
from schemathesis.engine import events
from schemathesis.python import asgi
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from tests.conftest import make_settings
from tests.fixtures import db as dbfix
from tests.fixtures.factories import PASSWORD, make_user
from tests.fuzz import rules
from zenpro.main import create_app

# Examples per operation and phase; `make fuzz` raises it (see docs/reliability.md).
EXAMPLES = int(os.environ.get("ZENPRO_FUZZ_EXAMPLES", "5"))
SEED = int(os.environ.get("ZENPRO_FUZZ_SEED", "20240601"))
# Several seeds, one run each (`make fuzz`: ZENPRO_FUZZ_SEEDS="777 4242 31337"); else SEED.
_SEEDS = os.environ.get("ZENPRO_FUZZ_SEEDS", "").replace(",", " ").split()
SEEDS = [int(s) for s in _SEEDS] or [SEED]
MAX_TIME = int(os.environ.get("ZENPRO_FUZZ_MAX_SECONDS", "0"))  # 0 = no limit
# Every check schemathesis has (the test fails if a new version adds one not listed here).
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "positive_data_acceptance",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
    "object_level_authorization",
)


# The only places a check may be switched off, each for one operation and with the reason
# (also in docs/reliability.md). None is needed: what used to be here (an empty `device_id`
# form field, which FastAPI reads as "not sent") is now published as allowed.
NARROW_EXCEPTIONS: list[dict[str, Any]] = []


def fresh_database(backend: str) -> str:
    make = dbfix.fresh_postgres if backend == "postgres" else dbfix.fresh_sqlite
    return asyncio.run(make("_fuzz"))


async def _seed_users(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as db:
            for name in ("fuzz-owner", "fuzz-machine-owner"):
                await make_user(db, name)
    finally:
        await engine.dispose()


@dataclass
class Credentials:
    """How to (re)obtain each kind of credential through the API."""

    app: FastAPI
    workspace_id: str = ""
    enrollment_key: str = ""
    org_id: str = ""
    ids: dict[str, str] = field(default_factory=dict)

    def _client(self) -> asgi.ASGIClient:
        return asgi.get_client(self.app)

    def session(self, username: str = "fuzz-owner") -> str:
        with self._client() as c:
            r = c.post("/auth/login", data={"username": username, "password": PASSWORD})
            r.raise_for_status()
            return str(r.json()["access_token"])

    def pat(self) -> str:
        with self._client() as c:
            r = c.post(
                "/users/me/api_keys",
                json={"name": f"fuzz-{uuid.uuid4().hex[:8]}"},
                headers={"Authorization": f"Bearer {self.session()}"},
            )
            r.raise_for_status()
            return str(r.json()["key"])

    def machine(self) -> str:
        with self._client() as c:
            r = c.post(
                "/auth/login",
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.workspace_id,
                    "client_secret": self.enrollment_key,
                    "audience": "fuzz",
                },
            )
            r.raise_for_status()
            return str(r.json()["access_token"])

    def get(self, kind: str) -> str:
        return {"session": self.session, "pat": self.pat, "machine": self.machine}[kind]()


def _seed_objects(creds: Credentials) -> None:
    """An organization with a workspace (enrolled), a team and a custom role."""
    with asgi.get_client(creds.app) as c:
        h = {"Authorization": f"Bearer {creds.session('fuzz-machine-owner')}"}
        org = c.post("/organizations", json={"name": "fuzz-machine-org"}, headers=h)
        org.raise_for_status()
        ws = c.post(
            "/workspaces",
            params={"enroll": "true"},
            json={"name": "fuzz-ws", "organization_id": org.json()["id"]},
            headers=h,
        )
        ws.raise_for_status()
        creds.workspace_id = ws.json()["id"]
        creds.enrollment_key = ws.json()["enrollment_key"]
        h = {"Authorization": f"Bearer {creds.session()}"}
        org = c.post("/organizations", json={"name": "fuzz-org"}, headers=h)
        org.raise_for_status()
        creds.org_id = org.json()["id"]
        for path, body in (
            ("/workspaces", {"name": "fuzz-own-ws", "organization_id": creds.org_id}),
            ("/teams", {"name": "fuzz-team", "organization_id": creds.org_id}),
        ):
            c.post(path, json=body, headers=h).raise_for_status()


@contextmanager
def running_app(backend: str) -> Iterator[Credentials]:
    url = fresh_database(backend)
    asyncio.run(_seed_users(url))
    app = create_app(make_settings(url, reconciler_enabled=False))
    creds = Credentials(app)
    try:
        _seed_objects(creds)
        yield creds
    finally:
        asgi.shutdown_lifespans()


def config(kind: str, seed: int = SEED) -> schemathesis.Config:
    checks: dict[str, dict[str, Any]] = {name: {"enabled": True} for name in CHECKS}
    # An oversized request refused for its size (413 body, 414 target, 431 headers: the
    # app's request limits, documented on every operation) is a rejection too.
    checks["negative_data_rejection"]["expected-statuses"] = [
        *("400", "401", "403", "404", "405", "406", "409", "413", "414", "415", "422"),
        *("428", "429", "431", "5xx"),
    ]
    gen = {"max-examples": EXAMPLES, "mode": "all", "deterministic": False}
    data: dict[str, Any] = {
        "seed": seed,
        "cache": {"enabled": False},  # no .schemathesis/ state in the tree
        "suppress-health-check": ["all"],
        "checks": {"enabled": False, **checks},
        "generation": gen,
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {
                "enabled": True,
                "max-steps": 6,
                # Links come from the schema's dependency analysis only. The other source,
                # "location-headers", also scans response bodies for URLs, and schemathesis
                # 4.32.5 crashes there (urlsplit ValueError) on any free text that starts
                # with "http://[" - which a description may. No check is affected.
                "inference": {"algorithms": ["dependency-analysis"]},
            },
        },
    }
    data["operations"] = NARROW_EXCEPTIONS
    if MAX_TIME:
        data["max-time"] = MAX_TIME
    return schemathesis.Config.from_dict(data)


@dataclass
class Outcome:
    failures: list[str]
    operations: int
    cases: int
    errors: list[str]
    phases: dict[str, str]


def _answer(recorder: Any, case_id: str) -> str:
    """The response a failure was found on: status and the start of the body."""
    interaction = recorder.interactions.get(case_id)
    response = interaction.response if interaction is not None else None
    if response is None:
        return "(no response)"
    return f"-> {response.status_code} {response.content[:300]!r}"


def run(creds: Credentials, kind: str, seed: int = SEED) -> Outcome:
    creds.get(kind)  # fail here, clearly, if the credential cannot be made at all

    class Provider:
        def get(self, case: Any, ctx: Any) -> str:
            # A fuzzed logout (or key revocation) ends the credential: get a new one.
            return creds.get(kind)

        def set(self, case: Any, data: str, ctx: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    schema = schemathesis.openapi.from_asgi("/openapi.json", creds.app, config=config(kind, seed))
    schema.auth(refresh_interval=600, retry_on=[401])(Provider)
    schema.hook("filter_case")(rules.keeps_the_rules)
    failures: list[str] = []
    errors: list[str] = []
    phases: dict[str, str] = {}
    cases = 0
    labels: set[str] = set()
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            labels.add(event.recorder.label)
            cases += len(event.recorder.cases)
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    if check.failure_info is not None:
                        node = event.recorder.cases[case_id].value
                        failures.append(
                            f"[{event.phase.value}] {event.recorder.label} {check.name}: "
                            f"{check.failure_info.failure.title} — "
                            f"{check.failure_info.failure.message[:400]}\n"
                            f"    {node.as_curl_command()}\n"
                            f"    {_answer(event.recorder, case_id)}"
                        )
        elif isinstance(event, events.NonFatalError):
            errors.append(f"{event.label}: {event.info.format()[:600]}")
        elif isinstance(event, events.FatalError):
            errors.append(f"FATAL: {event.exception!r}")
        elif isinstance(event, events.PhaseFinished):
            phases[event.phase.name.value] = event.status.value
    return Outcome(sorted(set(failures)), len(labels), cases, errors, phases)
