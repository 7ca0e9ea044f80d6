"""The benchmark's dataset (bench/seed.py) is one the app accepts: seeded into a fresh
database, its credentials work and its bench user holds what the benchmark asks about.
(The benchmark itself is not a test; this keeps its seed in step with the models.)"""

from __future__ import annotations

from bench.seed import seed
from tests.fixtures import db as dbfix
from tests.fixtures.factories import bearer
from tests.support.apps import asgi_client, make_settings, started
from zenpro.auth.deps import COOKIE_NAME
from zenpro.kit.db import make_engine


async def test_the_bench_dataset_seeds_and_its_credentials_work() -> None:
    url = await dbfix.fresh_sqlite("_benchseed")
    engine = make_engine(url)
    try:
        seeded = await seed(engine, "1k")
    finally:
        await engine.dispose()
    async with started(make_settings(url)) as app, asgi_client(app) as client:
        me = await client.get("/users/me", headers=bearer(seeded.session_token))
        assert me.status_code == 200, me.text
        assert me.json()["id"] == str(seeded.user_id)
        by_key = await client.get("/users/me", headers=bearer(seeded.api_key))
        assert by_key.status_code == 200, by_key.text
        check = await client.post(
            "/rbac/check_permissions",
            params={"user_id": str(seeded.user_id), "action": "read"},
            json=[f"{seeded.project_id}:pipeline", "stack"],
            headers=bearer(seeded.machine_token),
        )
        assert check.status_code == 200, check.text
        assert set(check.json().values()) == {True}  # a Workspace Admin there
        admin = bearer(seeded.admin_token)
        other = await client.get(f"/users/{seeded.other_user_id}", headers=admin)
        assert other.status_code == 200, other.text
        far_org, far_user = seeded.elsewhere[0]
        assert far_user != seeded.user_id
        assert far_org != seeded.organization_id
        console = await client.get(
            f"/console/organizations/{seeded.organization_id}",
            cookies={COOKIE_NAME: seeded.session_token},
        )
        assert console.status_code == 200, console.text
