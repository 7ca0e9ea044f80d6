"""Service accounts take ``username`` (what ZenML clients send) as well as ``name``."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.authz import make_org
from tests.fixtures.factories import bearer, make_user, token_for
from tests.service_accounts.test_service_accounts import Org

CONFLICT = "`username` and `name` are the same field"


@pytest.fixture
async def org(db: AsyncSession) -> Org:
    owner = await make_user(db, "owner")
    return Org(await make_org(db, owner, "acme"), bearer(await token_for(db, owner)))


@pytest.mark.parametrize(
    "body",
    [{"username": "ci-bot"}, {"name": "ci-bot"}, {"username": "ci-bot", "name": "ci-bot"}],
    ids=["username", "name", "both-equal"],
)
async def test_create_with_username_or_name(
    client: httpx.AsyncClient, org: Org, body: dict[str, str]
) -> None:
    r = await client.post(org.base, json={**body, "description": "CI"}, headers=org.headers)
    assert r.status_code == 201, r.text
    assert r.json()["username"] == "ci-bot"
    assert r.json()["description"] == "CI"
    found = await client.get(f"{org.base}/ci-bot", headers=org.headers)
    assert found.status_code == 200
    assert found.json()["id"] == r.json()["id"]


@pytest.mark.parametrize(
    "body",
    [
        {"username": "a-bot", "name": "b-bot"},
        {"username": None, "name": "b-bot"},
        {"username": None},
        {"description": "neither"},
        {"username": "not a login name"},
    ],
    ids=["differ", "null-and-name", "null", "neither", "bad-username"],
)
async def test_create_refuses_a_missing_or_conflicting_name(
    client: httpx.AsyncClient, org: Org, body: dict[str, object]
) -> None:
    r = await client.post(org.base, json=body, headers=org.headers)
    assert r.status_code == 422, r.text
    assert isinstance(r.json()["detail"], list)
    if body.get("name") and body.get("username") is not None:
        assert CONFLICT in r.json()["detail"][0]["msg"]
    assert (await client.get(org.base, headers=org.headers)).json() == []


async def test_update_with_username(client: httpx.AsyncClient, org: Org) -> None:
    r = await client.post(org.base, json={"username": "ci-bot"}, headers=org.headers)
    assert r.status_code == 201, r.text
    url = f"{org.base}/{r.json()['id']}"
    renamed = await client.patch(url, json={"username": "deploy-bot"}, headers=org.headers)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["username"] == "deploy-bot"
    same = await client.patch(
        url, json={"username": "ops-bot", "name": "ops-bot"}, headers=org.headers
    )
    assert same.json()["username"] == "ops-bot"
    # null is "unchanged", for either field
    kept = await client.patch(url, json={"username": None, "description": "d"}, headers=org.headers)
    assert kept.status_code == 200, kept.text
    assert kept.json()["username"] == "ops-bot"
    bad = await client.patch(url, json={"username": "x-bot", "name": "y-bot"}, headers=org.headers)
    assert bad.status_code == 422
    assert CONFLICT in bad.json()["detail"][0]["msg"]
    assert (await client.get(url, headers=org.headers)).json()["username"] == "ops-bot"


def test_the_schema_says_either_field_and_that_they_must_agree(app: FastAPI) -> None:
    schemas = app.openapi()["components"]["schemas"]
    create = schemas["ServiceAccountCreate"]
    assert "name" not in create.get("required", [])
    assert create["anyOf"] == [{"required": ["username"]}, {"required": ["name"]}]
    username = create["properties"]["username"]
    assert username["type"] == "string"  # not nullable: null is no name
    for field in ("name", "username"):
        assert "must be equal" in create["properties"][field]["description"]
    update = schemas["ServiceAccountUpdate"]["properties"]
    assert "must be equal" in update["username"]["description"]
    assert "must be equal" in update["name"]["description"]


async def test_an_outsider_still_cannot_create_one(
    client: httpx.AsyncClient, db: AsyncSession, org: Org
) -> None:
    outsider = bearer(await token_for(db, await make_user(db, "outsider")))
    r = await client.post(org.base, json={"username": "sneaky"}, headers=outsider)
    assert r.status_code == 404
