"""The audit trail: written with the change, never without it, never with a secret."""

from __future__ import annotations

import json
import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.authz import assign
from tests.fixtures.factories import PASSWORD, bearer, make_user, password_hash, token_for
from tests.fixtures.orgs import create_org_via_api, create_team_via_api, create_ws_via_api
from tests.fixtures.roles import BILLING_ADMIN as BILLING
from tests.fixtures.roles import ORG_VIEWER as VIEWER
from zenpro.authz.vocabulary import ORG_MEMBER_ID
from zenpro.models import APIKey, AuditEvent, Token, Workspace


async def _events(db: AsyncSession) -> list[AuditEvent]:
    rows = list(await db.scalars(select(AuditEvent).order_by(AuditEvent.created)))
    await db.commit()
    return rows


async def test_changes_are_recorded_with_actor_ip_and_org(
    client: httpx.AsyncClient, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    before = len(await _events(db))
    org = await create_org_via_api(client, alice_headers, "acme")
    team = await create_team_via_api(client, alice_headers, org["id"], "devs")
    r = await client.patch(f"/teams/{team['id']}", json={"description": "d"}, headers=alice_headers)
    assert r.status_code == 200
    assert (await client.delete(f"/teams/{team['id']}", headers=alice_headers)).status_code == 200

    r = await client.get(f"/organizations/{org['id']}/audit_events", headers=alice_headers)
    assert r.status_code == 200, r.text
    assert int(r.headers["X-Total-Count"]) == len(r.json())
    events = r.json()
    alice_id = str((await client.get("/users/me", headers=alice_headers)).json()["id"])
    for e in events:
        assert e["actor_type"] == "user"
        assert e["actor_id"] == alice_id
        assert e["ip"] == "127.0.0.1"
        assert e["organization_id"] == org["id"]
        assert e["outcome"] == "success"
        assert e["request_id"]
    seen = {(e["action"], e["resource_type"], e["resource_id"]) for e in events}
    assert ("create", "organizations", org["id"]) in seen
    assert ("create", "role_assignments", seen_any(events, "role_assignments")) in seen
    assert ("create", "teams", team["id"]) in seen
    assert ("update", "teams", team["id"]) in seen
    assert ("delete", "teams", team["id"]) in seen
    update = next(e for e in events if e["action"] == "update")
    assert update["changes"]["description"] == "d"
    assert update["via"] == f"PATCH /teams/{team['id']}"
    # Filters: action, resource type, actor, time range.
    url = f"/organizations/{org['id']}/audit_events"
    r = await client.get(url, params={"action": "delete"}, headers=alice_headers)
    assert [(e["action"], e["resource_type"]) for e in r.json()] == [("delete", "teams")]
    r = await client.get(url, params={"resource_type": "organizations"}, headers=alice_headers)
    assert [e["resource_id"] for e in r.json()] == [org["id"]]
    r = await client.get(url, params={"actor_id": str(uuid.uuid4())}, headers=alice_headers)
    assert r.json() == []
    r = await client.get(url, params={"until": "2000-01-01T00:00:00Z"}, headers=alice_headers)
    assert r.json() == []
    r = await client.get(url, params={"since": "2000-01-01T00:00:00Z"}, headers=alice_headers)
    assert len(r.json()) == len(events)
    r = await client.get(url, params={"until": "0.5"}, headers=alice_headers)
    assert r.status_code == 422
    # Valid ISO times whose UTC form leaves the calendar: the client's to fix, never a 500.
    for bound in ("9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00"):
        for name in ("since", "until"):
            r = await client.get(url, params={name: bound}, headers=alice_headers)
            assert r.status_code == 422, (name, bound, r.status_code, r.text)
            assert name in r.text
    r = await client.get(url, params={"since": "2000-01-01T01:00:00+01:00"}, headers=alice_headers)
    assert len(r.json()) == len(events)
    r = await client.get(url, params={"limit": 1}, headers=alice_headers)
    assert len(r.json()) == 1
    assert 'rel="next"' in r.headers["Link"]
    assert len(await _events(db)) > before


def seen_any(events: list[dict[str, str]], rtype: str) -> str:
    return next(e["resource_id"] for e in events if e["resource_type"] == rtype)


async def test_failed_and_rolled_back_requests_leave_no_event(
    client: httpx.AsyncClient, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    await create_team_via_api(client, alice_headers, org["id"], "devs")
    before = [e.id for e in await _events(db)]
    # A duplicate (409 after the INSERT was flushed and failed), a 422 and a 404.
    r = await client.post(
        "/teams", json={"name": "devs", "organization_id": org["id"]}, headers=alice_headers
    )
    assert r.status_code == 409
    r = await client.post(
        "/teams", json={"name": "Bad\tName", "organization_id": org["id"]}, headers=alice_headers
    )
    assert r.status_code == 422
    r = await client.patch(
        f"/teams/{uuid.uuid4()}", json={"description": "x"}, headers=alice_headers
    )
    assert r.status_code == 404
    assert [e.id for e in await _events(db)] == before


async def test_secrets_never_reach_the_trail(
    client: httpx.AsyncClient, db: AsyncSession, admin_headers: dict[str, str]
) -> None:
    secrets: list[str] = [PASSWORD, password_hash()]
    r = await client.post(
        "/users",
        json={"username": "carol", "password": "carol-secret-pw-1", "email": "c@example.com"},
        headers=admin_headers,
    )
    assert r.status_code in (200, 201), r.text
    secrets.append("carol-secret-pw-1")
    r = await client.post(
        "/auth/login", data={"username": "carol", "password": "carol-secret-pw-1"}
    )
    assert r.status_code == 200
    carol = bearer(r.json()["access_token"])
    secrets.append(r.json()["access_token"])
    r = await client.post("/users/me/api_keys", json={"name": "ci"}, headers=carol)
    assert r.status_code in (200, 201), r.text
    secrets.append(r.json()["key"])
    r = await client.post(f"/users/me/api_keys/{r.json()['id']}/rotate", json={}, headers=carol)
    assert r.status_code == 200, r.text
    secrets.append(r.json()["key"])
    org = await create_org_via_api(client, admin_headers, "acme")
    ws = await create_ws_via_api(client, admin_headers, org["id"], "alpha", enroll=True)
    secrets.append(ws["enrollment_key"])
    carol_id = await _user_id(client, carol)
    r = await client.patch(
        f"/users/{carol_id}", json={"password": "carol-new-pw-22"}, headers=admin_headers
    )
    assert r.status_code == 200, r.text
    secrets.append("carol-new-pw-22")
    # Every stored hash is a secret too.
    secrets += [k.key_hash for k in await db.scalars(select(APIKey))]
    secrets += [t.token_hash for t in await db.scalars(select(Token))]
    secrets += [
        w.enrollment_key_hash for w in await db.scalars(select(Workspace)) if w.enrollment_key_hash
    ]
    events = await _events(db)
    dump = json.dumps([e.changes for e in events])
    assert len(events) > 5
    for secret in secrets:
        assert secret not in dump
    assert '"password_hash": "[redacted]"' in dump
    assert '"key_hash": "[redacted]"' in dump
    assert '"enrollment_key_hash": "[redacted]"' in dump


async def _user_id(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    return str((await client.get("/users/me", headers=headers)).json()["id"])


async def test_who_may_read_the_trail(
    client: httpx.AsyncClient,
    db: AsyncSession,
    alice_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    url = f"/organizations/{org['id']}/audit_events"
    people = {}
    for name, role in (("viewer", VIEWER), ("member", ORG_MEMBER_ID), ("billing", BILLING)):
        user = await make_user(db, name)
        await assign(db, role, org["id"], user=user)
        people[name] = bearer(await token_for(db, user))
    stranger = bearer(await token_for(db, await make_user(db, "stranger")))
    assert (await client.get(url)).status_code == 401
    assert (await client.get(url, headers=stranger)).status_code == 404
    assert (await client.get(url, headers=people["member"])).status_code == 403
    assert (await client.get(url, headers=people["billing"])).status_code == 403
    assert (await client.get(url, headers=people["viewer"])).status_code == 200
    assert (await client.get(url, headers=admin_headers)).status_code == 200
    assert (await client.get("/audit_events", headers=alice_headers)).status_code == 403
    assert (await client.get("/audit_events")).status_code == 401
    r = await client.get("/audit_events", headers=admin_headers)
    assert r.status_code == 200
    assert len(r.json()) >= 1


async def test_deleted_organization_keeps_its_trail_for_superusers(
    client: httpx.AsyncClient, alice_headers: dict[str, str], admin_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    r = await client.delete(f"/organizations/{org['id']}", headers=alice_headers)
    assert r.status_code == 200, r.text
    r = await client.get(
        "/audit_events", params={"resource_type": "organizations"}, headers=admin_headers
    )
    assert [(e["action"], e["resource_id"]) for e in r.json()] == [
        ("delete", org["id"]),
        ("create", org["id"]),
    ]
