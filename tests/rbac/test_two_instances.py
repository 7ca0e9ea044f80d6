"""No stale in-process state: a revocation through one app instance flips the very next
check_permissions answer on another instance sharing the database."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.authz import join, machine_token, make_org, make_workspace
from tests.fixtures.factories import bearer, make_user
from tests.fixtures.roles import WS_VIEWER as VIEWER
from tests.fixtures.waiting import eventually
from tests.support.apps import asgi_client, make_settings, started
from zenpro.models import User


async def test_revocation_on_one_instance_is_seen_by_the_other(
    client: httpx.AsyncClient,
    db: AsyncSession,
    database_url: str,
    alice: User,
    alice_headers: dict[str, str],
) -> None:
    org = await make_org(db, alice)
    ws = await make_workspace(db, org)
    bob = await make_user(db, "bob")
    await join(db, org, bob)
    machine = bearer(await machine_token(db, ws))
    async with started(make_settings(database_url)) as other:
        # On PostgreSQL the caches are trusted only once the invalidation listener is up.
        cache = other.state.cache
        await eventually(lambda: not cache.push or cache.listening, what="epoch listener up")
        async with asgi_client(other) as second:
            params = {"user_id": str(bob.id), "workspace_id": str(ws.id)}

            async def check() -> bool:
                r = await second.post(
                    "/rbac/check_permissions",
                    params={"user_id": str(bob.id), "action": "read"},
                    json=["stack"],
                    headers=machine,
                )
                assert r.status_code == 200
                return bool(r.json()["stack"])

            assert await check() is False
            granted = await client.post(
                f"/roles/{VIEWER}/assignments", params=params, headers=alice_headers
            )
            assert granted.status_code == 201
            assert await check() is True
            revoked = await client.delete(
                f"/roles/{VIEWER}/assignments", params=params, headers=alice_headers
            )
            assert revoked.status_code == 200
            assert await check() is False
            # The second instance answered from its caches (fast lane) and still saw the
            # revocation: the invalidation reached it through the shared database.
            served = other.state.fastlane_served
            assert await check() is False
            assert other.state.fastlane_served > served
