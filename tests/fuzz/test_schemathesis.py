"""Schemathesis over every operation, as each kind of caller (issue 8), with every check.

Phases examples, coverage, fuzzing and stateful; checks in ``harness.CHECKS`` (all of
schemathesis'). Budget: ``ZENPRO_FUZZ_EXAMPLES`` examples per operation and phase (default
5, ``make fuzz`` uses more); the coverage phase is deterministic and the same size at any
budget. Seeds: ``ZENPRO_FUZZ_SEEDS`` (one run per seed and caller), else
``ZENPRO_FUZZ_SEED``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from schemathesis.checks import CHECKS as REGISTERED
from schemathesis.checks import load_all_checks

from tests.conftest import make_settings
from tests.fixtures.services import need
from tests.fuzz import rules
from tests.fuzz.harness import CHECKS, SEEDS, Credentials, run, running_app
from zenpro.main import create_app

pytestmark = pytest.mark.fuzz


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fuzz_app(request: pytest.FixtureRequest) -> Iterator[Credentials]:
    if request.param == "postgres":
        need("postgres")
    with running_app(request.param) as creds:
        yield creds


@pytest.mark.parametrize("kind", ["session", "pat", "machine"])
@pytest.mark.parametrize("seed", SEEDS, ids=[f"seed{s}" for s in SEEDS])
def test_schemathesis_finds_nothing(fuzz_app: Credentials, seed: int, kind: str) -> None:
    started = time.monotonic()
    outcome = run(fuzz_app, kind, seed)
    # Shown with `-rP` (docs/reliability.md records these numbers).
    print(
        f"seed {seed} {kind}: {outcome.operations} operations, {outcome.cases} cases, "
        f"{len(outcome.failures)} failures, {time.monotonic() - started:.0f} s"
    )
    # The walk must reach the whole API, or a green run proves nothing.
    assert outcome.operations >= 90, outcome.operations
    assert outcome.cases > 1000, outcome.cases
    problems = outcome.errors + outcome.failures
    assert not problems, "\n".join(problems)
    for phase in ("examples", "coverage", "fuzzing", "stateful"):
        assert outcome.phases.get(phase) == "success", outcome.phases


def test_every_check_is_on() -> None:
    load_all_checks()
    assert set(REGISTERED.get_all_names()) == set(CHECKS)


def test_the_rules_are_in_the_descriptions() -> None:
    """The rules the harness keeps are the operations' own, stated where clients read."""
    app = create_app(make_settings("sqlite+aiosqlite:///:memory:"))
    paths = app.openapi()["paths"]
    for (method, path), rule in rules.RULES.items():
        description = paths[path][method.lower()].get("description", "")
        assert rule.says in description, (method, path)
