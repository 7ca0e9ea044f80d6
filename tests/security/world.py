"""Two organizations with one of every object, and a snapshot of every table.

Organization B (owner ``bob``) holds the targets; ``eve`` owns organization A and is a
stranger to B; ``mia`` is an Organization Member of B. Objects are made through the API
where it exists, so they are exactly what real callers produce.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.authz import assign, make_org, make_workspace
from tests.fixtures.factories import bearer, make_user, token_for
from zenpro.authz.vocabulary import ORG_MEMBER_ID
from zenpro.kit.db import utcnow
from zenpro.models import Base, Device, User


@dataclass
class World:
    bob: User
    eve: User
    mia: User
    headers: dict[str, dict[str, str]]
    ids: dict[str, str] = field(default_factory=dict)


async def _ok(r: httpx.Response) -> dict[str, Any]:
    assert r.is_success, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return dict(r.json())


async def build_world(client: httpx.AsyncClient, db: AsyncSession) -> World:
    bob, eve, mia = [await make_user(db, f"{n}-{uuid.uuid4().hex[:6]}") for n in "bem"]
    world = World(
        bob,
        eve,
        mia,
        {
            u: bearer(await token_for(db, user))
            for u, user in (("bob", bob), ("eve", eve), ("mia", mia))
        },
    )
    org_b = await make_org(db, bob)
    org_a = await make_org(db, eve)
    await make_workspace(db, org_a)
    await assign(db, ORG_MEMBER_ID, org_b, user=mia)
    ws = await make_workspace(db, org_b)
    h = world.headers["bob"]
    team = await _ok(
        await client.post(
            "/teams", json={"name": "t-b", "organization_id": str(org_b.id)}, headers=h
        )
    )
    role = await _ok(
        await client.post(
            "/roles",
            json={
                "organization_id": str(org_b.id),
                "name": "r-b",
                "level": "workspace",
                "permissions": [{"resource_type": "stack", "actions": ["read"]}],
            },
            headers=h,
        )
    )
    inv = await _ok(
        await client.post(
            f"/organizations/{org_b.id}/invitations", json={"email": "inv@example.com"}, headers=h
        )
    )
    sa_path = f"/organizations/{org_b.id}/service_accounts"
    sa = await _ok(await client.post(sa_path, json={"name": "sa-b"}, headers=h))
    sa_key = await _ok(
        await client.post(f"{sa_path}/{sa['id']}/api_keys", json={"name": "k"}, headers=h)
    )
    pat = await _ok(await client.post("/users/me/api_keys", json={"name": "pat-b"}, headers=h))
    sessions = (await client.get("/users/me/sessions", headers=h)).json()
    device = Device(
        client_id=str(uuid.uuid4()),
        device_code_hash=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
        user_code="ABCD-EFGH",
        status="approved",
        user_id=bob.id,
        workspace_id=ws.id,
        expires=utcnow() + timedelta(minutes=10),
    )
    db.add(device)
    await db.commit()
    world.ids.update(
        organization=str(org_b.id),
        workspace=str(ws.id),
        team=team["id"],
        role=role["id"],
        invitation=inv["id"],
        service_account=sa["id"],
        sa_key=sa_key["id"],
        pat=pat["id"],
        session=sessions[0]["id"],
        device=str(device.id),
        user=str(bob.id),
        eve=str(eve.id),
        mia=str(mia.id),
    )
    return world


# Written on every authenticated request by design (idle expiry, "last used" in the UI):
# not a change to anyone's data.
VOLATILE = {("tokens", "last_used"), ("api_keys", "last_used")}
# An append-only record of the attempts themselves (refusals included) is expected.
NOT_TENANT_DATA = {"audit_events"}


async def snapshot(db: AsyncSession) -> dict[str, tuple[int, str]]:
    """Row count and a hash of the rows of every table."""
    out: dict[str, tuple[int, str]] = {}
    db.expire_all()
    for table in Base.metadata.sorted_tables:
        if table.name in NOT_TENANT_DATA:
            continue
        cols = [c for c in table.columns if (table.name, c.name) not in VOLATILE]
        rows = sorted(repr(tuple(r)) for r in (await db.execute(select(*cols))).all())
        out[table.name] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    await db.commit()
    return out
