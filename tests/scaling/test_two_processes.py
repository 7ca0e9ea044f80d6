"""Several instances: two real zenpro processes sharing one PostgreSQL and one Redis.

Everything another instance needs is shared: sessions, revocation, grants (the epoch
caches are invalidated through PostgreSQL) and the rate-limit budget (Redis).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
import redis

from tests.compat.harness import ADMIN_PASSWORD, Api, run_zenpro
from tests.fixtures.db import fresh_postgres
from tests.fixtures.factories import bearer
from tests.fixtures.services import need
from tests.support.processes import ZenproServer, zenpro_serve

REDIS_DB = 13
BUDGET = 40  # ZENPRO_RATELIMIT_DEFAULT for this test, per principal per route


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ZenproServer, ZenproServer]]:
    need("postgres")
    need("redis")
    db_url = asyncio.run(fresh_postgres(suffix="_pair"))
    redis.Redis.from_url(f"redis://127.0.0.1:6379/{REDIS_DB}").flushdb()
    env = {
        "ZENPRO_REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "ZENPRO_RATELIMIT_DEFAULT": f"{BUDGET}/minute",
        "ZENPRO_LOG_LEVEL": "INFO",
    }
    with ExitStack() as stack:
        # Both start (and migrate) at once: the migration lock must hold.
        a = stack.enter_context(run_zenpro(tmp_path_factory.mktemp("a"), db_url, **env))
        b = stack.enter_context(run_zenpro(tmp_path_factory.mktemp("b"), db_url, **env))
        yield a, b


def test_a_session_from_one_works_on_the_other_and_logout_is_honoured(
    pair: tuple[ZenproServer, ZenproServer],
) -> None:
    a, b = pair
    token = a.admin_token()
    assert httpx.get(f"{b.url}/users/me", headers=bearer(token)).status_code == 200
    assert httpx.get(f"{b.url}/users/me", headers=bearer(token)).status_code == 200  # cached
    assert httpx.post(f"{a.url}/auth/logout", headers=bearer(token)).status_code == 200
    assert httpx.get(f"{b.url}/users/me", headers=bearer(token)).status_code == 401


def test_a_revocation_on_one_changes_check_permissions_on_the_other(
    pair: tuple[ZenproServer, ZenproServer],
) -> None:
    a, b = pair
    admin = Api(a.url).login("admin", ADMIN_PASSWORD)
    org = admin.call("POST", "/organizations", 201, json={"name": "pair-org"})
    ws = admin.call(
        "POST",
        "/workspaces",
        201,
        params={"enroll": "True"},
        json={"name": "pair-ws", "organization_id": org["id"]},
    )
    bob = admin.call(
        "POST",
        "/users",
        201,
        json={"username": "bob", "password": "bob-password-1", "email": "bob@example.com"},
    )
    machine = httpx.post(
        f"{b.url}/auth/login",
        data={
            "grant_type": "client_credentials",
            "client_id": ws["id"],
            "client_secret": ws["enrollment_key"],
            "audience": "zenml",
        },
    ).json()["access_token"]
    viewer = "00000000-0000-4000-8000-000000000013"
    params = {"user_id": bob["id"], "workspace_id": ws["id"]}

    def read_stack() -> bool:
        r = httpx.post(
            f"{b.url}/rbac/check_permissions",
            params={"user_id": bob["id"], "action": "read"},
            json=["stack"],
            headers=bearer(machine),
        )
        assert r.status_code == 200, r.text
        return bool(r.json()["stack"])

    assert read_stack() is False
    admin.call("POST", f"/roles/{viewer}/assignments", 201, params=params)
    assert read_stack() is True
    assert read_stack() is True  # now from b's caches
    admin.call("DELETE", f"/roles/{viewer}/assignments", 200, params=params)
    assert read_stack() is False


def test_the_rate_limit_is_one_budget_across_both(pair: tuple[ZenproServer, ZenproServer]) -> None:
    a, b = pair
    token = a.admin_token()
    statuses = []
    for i in range(BUDGET + 1):
        url = (a if i % 2 else b).url
        statuses.append(httpx.get(f"{url}/users/me", headers=bearer(token)).status_code)
    assert statuses[:BUDGET] == [200] * BUDGET
    assert statuses[BUDGET] == 429


def test_several_workers(tmp_path: Path) -> None:
    """`zenpro serve --workers 2` serves (SQLite file shared by both worker processes)."""
    with zenpro_serve(
        tmp_path, admin_password=ADMIN_PASSWORD, workers=2, new_session=True
    ) as server:
        for _ in range(10):
            me = httpx.get(f"{server.url}/users/me", headers=bearer(server.admin_token()))
            assert me.status_code == 200
