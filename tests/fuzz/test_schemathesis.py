"""Schemathesis over every operation, as each kind of caller (issue 8).

Phases examples, coverage, fuzzing and stateful; checks in ``harness.CHECKS``. Budget:
``ZENPRO_FUZZ_EXAMPLES`` examples per operation and phase (default 5, ``make fuzz`` uses
more); the coverage phase is deterministic and the same size at any budget.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.services import need
from tests.fuzz.harness import Credentials, run, running_app

pytestmark = pytest.mark.fuzz


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fuzz_app(request: pytest.FixtureRequest) -> Iterator[Credentials]:
    if request.param == "postgres":
        need("postgres")
    with running_app(request.param) as creds:
        yield creds


@pytest.mark.parametrize("kind", ["session", "pat", "machine"])
def test_schemathesis_finds_nothing(fuzz_app: Credentials, kind: str) -> None:
    outcome = run(fuzz_app, kind)
    # The walk must reach the whole API, or a green run proves nothing.
    assert outcome.operations >= 90, outcome.operations
    assert outcome.cases > 1000, outcome.cases
    problems = outcome.errors + outcome.failures
    assert not problems, "\n".join(problems)
    for phase in ("examples", "coverage", "fuzzing", "stateful"):
        assert outcome.phases.get(phase) == "success", outcome.phases
