"""Model-based escalation search (issue 12, "Must show 2"): no path to more power.

**The property**, checked after every step of random sequences (3 to 8 steps) of every
granting operation: assign and revoke a role (to a user, a team or an invitation, at
organization, workspace or project scope), invite, accept an invitation, create and edit
a custom role, put a user or an invitation in a team, mint, rotate and (de)activate a
service-account key (its holder may then act as the account in later steps), share
through ``/rbac/resource_members`` (a workspace's machine token, a random member and
sharing user), and change one's own email (to try to take an invitation). Each step is
made by a random principal of organization A or B (or an outsider, a newcomer, a key
holder) through the HTTP API:

1. everything any principal gained in the step was held by the step's actor before it;
   for the addressee of an accepted invitation (verified, matching email): carried by that
   invitation;
2. nobody who did not belong to an organization before the step gained anything in it,
   belonging itself included (the addressee of one of its invitations excepted).

"Gained" and "held" come from the test's own model (``escalation_model.py``), computed
from the rows with SQL, never from the checker or ``authz/granting.py``; it counts what an
assignment gives besides its pairs (membership of the workspace, which lets one log in to
that ZenML server, and the read on a project that a project-scope role gives). The world
and its reset are in ``escalation_world.py``, the steps in ``escalation_walk.py``. Any
status is fine for a step (most are 403/400/404/409); a 5xx fails the test.

**Why a seeded random walk, not a Hypothesis state machine**: the app and the suite's
fixtures are async on one event loop per session, while ``RuleBasedStateMachine`` is
synchronous, and shrinking would replay hundreds of HTTP sequences per failure. A
``random.Random(seed)`` per sequence replays every step from one number, and the failure
message lists the steps already (they are few).

**Volume and time**: ``ZENPRO_ESCALATION_SEQUENCES`` sequences per database backend
(default 1000): the fixtures run the test once on SQLite and once on PostgreSQL, with
different seeds, so a run checks 2000 sequences (about 11,000 requests). The seeds are
``ZENPRO_ESCALATION_SEED`` (default below) plus the sequence number, plus 1,000,000 on
PostgreSQL. Cost per sequence: the world put back from saved rows (one transaction), about
5.5 requests (two thirds of the cost), one UNION ALL read of the rows that decide holdings
after each step. Measured on the 2-core machine for 1000 sequences, while other suites ran
(load average 5 to 7): SQLite 219 s wall clock, 109 s CPU; PostgreSQL 252 s wall clock,
96 s CPU in the test process. The walk is CPU-bound, so an idle machine needs about the
CPU figure: two minutes per backend. ``make fuzz`` runs more.

**Replay a failure**: the message names the backend and the seed; run
``ZENPRO_ESCALATION_REPLAY=<seed> .venv/bin/pytest -q -p no:cacheprovider
tests/security/test_escalation_model.py -k '<backend> and holds'``.

**The search can fail**: the planted tests switch the rule off (all of it, or for one
operation only) and require, within ``PLANTED_BUDGET`` sequences, a seed that breaks the
property with the plant and not without it (measured over four seed ranges: found within
70 sequences at most).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.security.escalation_model import system_roles
from tests.security.escalation_walk import Found, Walk
from zenpro.authz import granting
from zenpro.errors import NotFound
from zenpro.invitations import repository as invitations_repo
from zenpro.invitations import service as invitations
from zenpro.models import Invitation
from zenpro.roles import service as roles
from zenpro.service_accounts import service as service_accounts
from zenpro.teams import service as teams

SEQUENCES = int(os.environ.get("ZENPRO_ESCALATION_SEQUENCES", "1000"))
BASE_SEED = int(os.environ.get("ZENPRO_ESCALATION_SEED", "20251212"))
REPLAY = os.environ.get("ZENPRO_ESCALATION_REPLAY")
POSTGRES_OFFSET = 1_000_000
PLANTED_BUDGET = 300  # sequences within which a planted escalation must be found
PLANTED_SEED = BASE_SEED + 5_000_000


async def _walk(client: httpx.AsyncClient, app: FastAPI) -> Walk:
    return Walk(client, app, await system_roles(app.state.engine))


def _seeds(walk: Walk) -> range:
    if REPLAY is not None:
        return range(int(REPLAY), int(REPLAY) + 1)
    start = BASE_SEED + (POSTGRES_OFFSET if walk.backend == "postgres" else 0)
    return range(start, start + SEQUENCES)


async def _search(walk: Walk, seeds: range) -> tuple[Found | None, int]:
    """The first sequence that breaks the property, and how many sequences ran."""
    for n, seed in enumerate(seeds, 1):
        found = await walk.sequence(seed)
        if found is not None:
            return found, n
    return None, len(seeds)


async def test_no_step_holds_more_than_its_actor(client: httpx.AsyncClient, app: FastAPI) -> None:
    walk = await _walk(client, app)
    found, _ = await _search(walk, _seeds(walk))
    assert found is None, found.report()


# --- planted escalations: the search must find them --------------------------------------


async def _allow(*_args: Any, **_kwargs: Any) -> None:
    return None


async def _any_invitation(db: AsyncSession, _access: Any, inv_id: uuid.UUID) -> Invitation:
    inv = await invitations_repo.get(db, inv_id)
    if inv is None:
        raise NotFound(f"Invitation {inv_id} not found")
    return inv


Plant = Callable[[pytest.MonkeyPatch], None]
PLANTS: dict[str, Plant] = {
    # The whole rule: ``missing`` answers "nothing lacking" wherever it is asked.
    "the rule": lambda mp: mp.setattr(granting, "missing", lambda *_a, **_k: set()),
    "team joins": lambda mp: mp.setattr(teams, "require_may_confer", _allow),
    "service-account keys": lambda mp: mp.setattr(service_accounts, "require_may_act_for", _allow),
    "role edits": lambda mp: mp.setattr(roles, "_authorize_widening", _allow),
    "shares": lambda mp: mp.setattr(granting, "require_share", lambda *_a, **_k: None),
    "invitation roles": lambda mp: mp.setattr(
        invitations, "granting", SimpleNamespace(require=lambda *_a, **_k: None)
    ),
    "acceptance by the addressee only": lambda mp: mp.setattr(
        invitations, "get_mine", _any_invitation
    ),
    "membership by consent": lambda mp: mp.setattr(roles, "require_member", _allow),
}


@pytest.mark.parametrize("plant", sorted(PLANTS))
async def test_a_planted_escalation_is_found(
    client: httpx.AsyncClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch, plant: str
) -> None:
    """Within the budget, a sequence breaks the property with ``plant`` unchecked, and the
    same seed does not without it (so the plant, not another defect, made the
    difference)."""
    walk = await _walk(client, app)
    for seed in range(PLANTED_SEED, PLANTED_SEED + PLANTED_BUDGET):
        with monkeypatch.context() as mp:
            PLANTS[plant](mp)
            found = await walk.sequence(seed)
        if found is None:
            continue
        assert not any(p.startswith("server error") for p in found.problems), found.report()
        if await walk.sequence(seed) is None:
            return
    pytest.fail(f"no violation within {PLANTED_BUDGET} sequences with {plant} unchecked")
