from __future__ import annotations

import asyncio
import uuid

import httpx
from fastapi import FastAPI

from tests.fixtures.orgs import create_org_via_api, create_ws_via_api
from zenpro.config import Settings
from zenpro.models import Workspace
from zenpro.workspaces import reconciler
from zenpro.workspaces.lifecycle import (
    ExternalProvisioner,
    Outcome,
    Provisioners,
    reconcile_once,
)
from zenpro.workspaces.schemas import Status


class Broken(ExternalProvisioner):
    name = "broken"

    async def provision(self, ws: Workspace, settings: Settings) -> Outcome:
        raise RuntimeError("cluster unreachable")


async def test_failure_sets_failed_and_retry(
    app: FastAPI, client: httpx.AsyncClient, alice_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    ws = await create_ws_via_api(client, alice_headers, org["id"], "alpha")
    broken = Provisioners(managed=Broken())
    await reconcile_once(app.state.sessionmaker, app.state.settings, broken)
    body = (await client.get(f"/workspaces/{ws['id']}", headers=alice_headers)).json()
    assert body["status"] == "failed"
    assert "cluster unreachable" in body["state_reason"]
    # failed stays failed until asked again
    assert await reconcile_once(app.state.sessionmaker, app.state.settings) == 0
    r = await client.patch(
        f"/workspaces/{ws['id']}", json={"desired_state": "available"}, headers=alice_headers
    )
    assert r.json()["status"] == "pending"
    assert await reconcile_once(app.state.sessionmaker, app.state.settings) == 1


async def test_concurrent_reconcilers_transition_once(
    app: FastAPI, client: httpx.AsyncClient, alice_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    for i in range(3):
        await create_ws_via_api(client, alice_headers, org["id"], f"ws-{i}")
    counts = await asyncio.gather(
        *(reconcile_once(app.state.sessionmaker, app.state.settings) for _ in range(4))
    )
    assert sum(counts) == 3
    r = await client.get("/workspaces", headers=alice_headers)
    assert {w["status"] for w in r.json()} == {Status.available}


async def test_background_loop_runs_and_stops(
    app: FastAPI, client: httpx.AsyncClient, alice_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "acme")
    ws = await create_ws_via_api(client, alice_headers, org["id"], "alpha")
    original = app.state.settings
    app.state.settings = original.model_copy(
        update={"reconciler_enabled": True, "reconcile_interval_seconds": 0.05}
    )
    try:
        async with reconciler.running(app):
            for _ in range(100):
                r = await client.get(f"/workspaces/{ws['id']}", headers=alice_headers)
                if r.json()["status"] == "available":
                    break
                await asyncio.sleep(0.05)
    finally:
        app.state.settings = original
    assert r.json()["status"] == "available"
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "reconciler"]
    assert uuid.UUID(ws["id"])
