"""Organization, team and custom-role names are display names (issue 13, spec §1).

`Production`, `Data Science`, `MLOps`, as ZenML's IdP-sync script names them: capitals,
spaces, digits and punctuation; 1-50 characters once trimmed; no control or invisible
formatting characters; unique ignoring case (organizations globally, teams and custom
roles within their organization, custom roles also apart from the system roles).
Workspace names stay slugs.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.factories import bearer, make_user, token_for
from tests.fixtures.orgs import create_org_via_api, create_team_via_api
from zenpro.kit.schemas import NAME_MAX, NAME_PATTERN, Name, is_name, trim_name
from zenpro.models import Organization, Role, Team

NAME = TypeAdapter(Name)
# The rule in words, written out apart from kit.schemas (which spells it as one pattern).
SPACE = " \t\n\x0b\x0c\r\x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(
    map(chr, range(0x2000, 0x200B))
)
REFUSED = frozenset(
    [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))]
    + list("\u2028\u2029\u061c\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e")
    + list("\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff")
)


def _role(org_id: str, name: str) -> dict[str, Any]:
    return {
        "organization_id": org_id,
        "name": name,
        "level": "workspace",
        "permissions": [{"resource_type": "pipeline", "actions": ["read"]}],
    }


Renaming = tuple[dict[str, Any], str]  # an object (its JSON) and the name to give it


async def _renames(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    base: str,
    clash: Renaming,
    recase: Renaming,
) -> None:
    """Renaming ``clash``'s object to a name taken ignoring case is 409; changing only the
    case of ``recase``'s own name is no clash."""
    (obj, name), (own, new_case) = clash, recase
    r = await client.patch(f"{base}/{obj['id']}", json={"name": name}, headers=headers)
    assert r.status_code == 409
    r = await client.patch(f"{base}/{own['id']}", json={"name": new_case}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == new_case


async def _bob_headers(db: AsyncSession) -> dict[str, str]:
    return bearer(await token_for(db, await make_user(db, "bob")))


async def test_the_sync_scripts_names(
    client: httpx.AsyncClient, alice_headers: dict[str, str]
) -> None:
    prod = await create_org_via_api(client, alice_headers, "Production")
    dev = await create_org_via_api(client, alice_headers, "Development")
    assert (prod["name"], dev["name"]) == ("Production", "Development")
    teams = [
        await create_team_via_api(client, alice_headers, prod["id"], n)
        for n in ("Data Science", "MLOps")
    ]
    assert [t["name"] for t in teams] == ["Data Science", "MLOps"]
    r = await client.get(f"/organizations/{prod['id']}/teams", headers=alice_headers)
    assert sorted(t["name"] for t in r.json()) == ["Data Science", "MLOps"]
    r = await client.post(
        "/roles", json=_role(prod["id"], "ML Deployers (EU)"), headers=alice_headers
    )
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "ML Deployers (EU)"


async def test_lookup_by_name_ignores_case_and_takes_spaces(
    client: httpx.AsyncClient, alice_headers: dict[str, str]
) -> None:
    prod = await create_org_via_api(client, alice_headers, "Production")
    platform = await create_org_via_api(client, alice_headers, "Data Platform #1")
    for ref, want in (
        ("Production", prod),
        ("production", prod),
        ("PRODUCTION", prod),
        ("Data%20Platform%20%231", platform),
        ("data%20platform%20%231", platform),
    ):
        r = await client.get(f"/organizations/{ref}", headers=alice_headers)
        assert r.status_code == 200, (ref, r.text)
        assert r.json()["id"] == want["id"]
    for ref in ("Producti", "Production%20", "%20Production", "Prod%00uction", "x" * 51):
        r = await client.get(f"/organizations/{ref}", headers=alice_headers)
        assert r.status_code == 404, ref


async def test_name_filters_ignore_case(
    client: httpx.AsyncClient, alice_headers: dict[str, str]
) -> None:
    prod = await create_org_via_api(client, alice_headers, "Production")
    await create_org_via_api(client, alice_headers, "Development")
    for value in ("Production", "production"):
        r = await client.get("/organizations", params={"name": value}, headers=alice_headers)
        assert [o["id"] for o in r.json()] == [prod["id"]], value
    r = await client.get("/organizations", params={"name": "Prod"}, headers=alice_headers)
    assert r.json() == []
    roles = f"/organizations/{prod['id']}/roles"
    r = await client.get(roles, params={"name": "organization admin"}, headers=alice_headers)
    assert [x["name"] for x in r.json()] == ["Organization Admin"]
    await client.post("/roles", json=_role(prod["id"], "Deployers"), headers=alice_headers)
    r = await client.get(roles, params={"name": "DEPLOYERS"}, headers=alice_headers)
    assert [x["name"] for x in r.json()] == ["Deployers"]


async def test_organization_names_unique_ignoring_case(
    client: httpx.AsyncClient, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    prod = await create_org_via_api(client, alice_headers, "Production")
    bob = await _bob_headers(db)
    for name in ("production", "PRODUCTION", "  Production  "):
        r = await client.post("/organizations", json={"name": name}, headers=bob)
        assert r.status_code == 409, name
        assert r.json()["detail"][0] == "EntityExistsError"
        # Says nothing of the organization Bob cannot see.
        assert prod["id"] not in r.text
        assert "alice" not in r.text
    other = await create_org_via_api(client, alice_headers, "Development")
    await _renames(
        client, alice_headers, "/organizations", (other, "pRODUCTION"), (prod, "PRODUCTION")
    )


async def test_team_names_unique_ignoring_case_within_their_organization(
    client: httpx.AsyncClient, db: AsyncSession, alice_headers: dict[str, str]
) -> None:
    prod = await create_org_via_api(client, alice_headers, "Production")
    team = await create_team_via_api(client, alice_headers, prod["id"], "Data Science")
    body = {"name": "data science", "organization_id": prod["id"]}
    r = await client.post("/teams", json=body, headers=alice_headers)
    assert r.status_code == 409
    assert r.json()["detail"][0] == "EntityExistsError"
    # The same name in another organization (another owner's, even) is fine.
    bob = await _bob_headers(db)
    elsewhere = await create_org_via_api(client, bob, "Elsewhere")
    assert (await create_team_via_api(client, bob, elsewhere["id"], "Data Science"))[
        "name"
    ] == "Data Science"
    mlops = await create_team_via_api(client, alice_headers, prod["id"], "MLOps")
    await _renames(client, alice_headers, "/teams", (mlops, "DATA SCIENCE"), (team, "data science"))


async def test_custom_role_names_clash_with_system_roles_and_each_other(
    client: httpx.AsyncClient, alice_headers: dict[str, str]
) -> None:
    prod = await create_org_via_api(client, alice_headers, "Production")
    for name in ("organization admin", "ORGANIZATION ADMIN", " Workspace Viewer ", "project admin"):
        r = await client.post("/roles", json=_role(prod["id"], name), headers=alice_headers)
        assert r.status_code == 409, (name, r.text)
        assert r.json()["detail"][0] == "EntityExistsError"
    made = await client.post("/roles", json=_role(prod["id"], "Deployers"), headers=alice_headers)
    assert made.status_code == 201
    role = made.json()
    r = await client.post("/roles", json=_role(prod["id"], "deployers"), headers=alice_headers)
    assert r.status_code == 409
    other = await create_org_via_api(client, alice_headers, "Development")
    r = await client.post("/roles", json=_role(other["id"], "deployers"), headers=alice_headers)
    assert r.status_code == 201
    await _renames(
        client, alice_headers, "/roles", (role, "Organization Admin"), (role, "DEPLOYERS")
    )


async def test_names_are_stored_trimmed(
    client: httpx.AsyncClient, alice_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "  Padded  ")
    assert org["name"] == "Padded"
    r = await client.get("/organizations/Padded", headers=alice_headers)
    assert r.json()["id"] == org["id"]
    r = await client.post("/organizations", json={"name": "padded\n"}, headers=alice_headers)
    assert r.status_code == 409
    team = await create_team_via_api(client, alice_headers, org["id"], "\tData Science\r\n")
    assert team["name"] == "Data Science"
    r = await client.post(
        "/roles", json=_role(org["id"], "\u3000Leads\u00a0"), headers=alice_headers
    )
    assert r.json()["name"] == "Leads"
    r = await client.patch(f"/teams/{team['id']}", json={"name": " MLOps "}, headers=alice_headers)
    assert r.json()["name"] == "MLOps"
    # Padding does not count towards the 50 characters.
    r = await client.post("/organizations", json={"name": f"  {'x' * 50}\n"}, headers=alice_headers)
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "x" * 50


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("", "empty"),
        ("   \t\n", "empty"),
        ("x" * 51, "at most 50"),
        (" " + "x" * 51 + " ", "at most 50"),
        ("Data\tScience", "U+0009"),
        ("Data\nScience", "U+000A"),
        ("a\x7fb", "U+007F"),
        ("a\x85b", "U+0085"),
        ("\x1fx", "U+001F"),
        ("a\u2028b", "U+2028"),
        ("\u202eProduction", "U+202E"),
        ("Prod\u200buction", "U+200B"),
        ("Production\ufeff", "U+FEFF"),
    ],
)
async def test_refused_names_are_422_saying_why(
    client: httpx.AsyncClient, alice_headers: dict[str, str], name: str, says: str
) -> None:
    org = await create_org_via_api(client, alice_headers, "Production")
    for url, body in (
        ("/organizations", {"name": name}),
        ("/teams", {"name": name, "organization_id": org["id"]}),
        ("/roles", _role(org["id"], name)),
        (f"/organizations/{org['id']}", {"name": name}),
    ):
        method = "PATCH" if url.startswith("/organizations/") else "POST"
        r = await client.request(method, url, json=body, headers=alice_headers)
        assert r.status_code == 422, (url, name, r.text)
        assert says in r.text, r.text
        assert r.json()["detail"][0]["loc"][-1] == "name"


@pytest.mark.parametrize(
    "name",
    [
        "x",
        "x" * 50,
        "R&D / Ops (EU), #1!",
        "Équipe données",
        "数据科学",
        "Team 🚀",
        "a\u200db",
        "O'Brien's",
    ],
)
async def test_accepted_names_round_trip(
    client: httpx.AsyncClient, alice_headers: dict[str, str], name: str
) -> None:
    org = await create_org_via_api(client, alice_headers, name)
    assert org["name"] == name
    r = await client.get("/organizations", params={"name": name}, headers=alice_headers)
    assert [o["id"] for o in r.json()] == [org["id"]]
    assert (await create_team_via_api(client, alice_headers, org["id"], name))["name"] == name


async def test_workspace_names_stay_slugs(
    client: httpx.AsyncClient, alice_headers: dict[str, str]
) -> None:
    org = await create_org_via_api(client, alice_headers, "Production")
    for name in ("Production", "my workspace", "ws!"):
        body = {"name": name, "organization_id": org["id"]}
        r = await client.post("/workspaces", json=body, headers=alice_headers)
        assert r.status_code == 422, name
    body = {"name": "production", "organization_id": org["id"]}
    assert (await client.post("/workspaces", json=body, headers=alice_headers)).status_code == 201


async def test_the_database_refuses_names_differing_only_by_case(
    db: AsyncSession, alice: Any
) -> None:
    """The unique indexes on lower(name), without the services' friendly checks (what a
    race between two requests would reach)."""
    owner = alice.id  # read once: a rollback expires the loaded user
    org = Organization(name="Production", owner_id=owner)
    db.add(org)
    await db.flush()
    org_id = org.id
    db.add_all(
        [
            Team(name="MLOps", organization_id=org_id),
            Role(name="Deployers", organization_id=org_id, level="workspace"),
        ]
    )
    await db.commit()
    clashes: list[Any] = [
        Organization(name="PRODUCTION", owner_id=owner),
        Team(name="mlops", organization_id=org_id),
        Role(name="deployers", organization_id=org_id, level="workspace"),
        Role(name="organization ADMIN", organization_id=None, level="organization"),
    ]
    for row in clashes:
        db.add(row)
        with pytest.raises(IntegrityError):
            await db.flush()
        await db.rollback()
    # Another organization may reuse a team or a role name.
    other = Organization(name="Development", owner_id=owner)
    db.add(other)
    await db.flush()
    db.add_all(
        [
            Team(name="mlops", organization_id=other.id),
            Role(name="deployers", organization_id=other.id, level="workspace"),
        ]
    )
    await db.commit()


async def test_concurrent_creates_differing_by_case_one_wins(
    client: httpx.AsyncClient, alice_headers: dict[str, str]
) -> None:
    names = ["Race", "race", "RACE", "rAcE", " race "] * 2

    async def create(name: str) -> httpx.Response:
        return await client.post("/organizations", json={"name": name}, headers=alice_headers)

    responses = await asyncio.gather(*(create(n) for n in names))
    assert Counter(r.status_code for r in responses) == Counter({201: 1, 409: len(names) - 1})
    r = await client.get("/organizations", params={"name": "race"}, headers=alice_headers)
    assert len(r.json()) == 1


def test_the_openapi_publishes_one_name_rule(app: FastAPI) -> None:
    schemas = app.openapi()["components"]["schemas"]

    def name_schema(model: str) -> dict[str, Any]:
        prop = schemas[model]["properties"]["name"]
        return next((s for s in prop.get("anyOf", []) if s.get("type") == "string"), prop)

    for model in (
        "OrganizationCreate",
        "OrganizationUpdate",
        "TeamCreate",
        "TeamUpdate",
        "OrganizationRoleCreate",  # RoleCreate: one schema per level
        "WorkspaceRoleCreate",
        "ProjectRoleCreate",
        "RoleUpdate",
    ):
        schema = name_schema(model)
        assert schema["pattern"] == NAME_PATTERN, model
        assert schema["minLength"] == 1
        assert "trims" in schema["description"]
    assert name_schema("WorkspaceCreate")["pattern"] == "^[a-z0-9][a-z0-9\\-_]*$"


def _by_the_rules(value: str) -> bool:
    trimmed = value.strip(SPACE)
    return 1 <= len(trimmed) <= NAME_MAX and not REFUSED.intersection(trimmed)


EDGES = st.sampled_from(" \t\nAa\u00a0\u202e\x85\u3000\u200d")


@given(st.text(max_size=60) | st.text(alphabet=EDGES, max_size=55))
def test_pattern_and_validator_agree_with_the_rule(value: str) -> None:
    matches = re.fullmatch(NAME_PATTERN, value) is not None
    assert matches == _by_the_rules(value)
    try:
        stored = NAME.validate_python(value)
    except ValidationError:
        assert not matches
    else:
        assert matches
        assert stored == trim_name(value)
        assert is_name(stored)
        assert NAME.validate_python(stored) == stored


@given(st.from_regex(NAME_PATTERN, fullmatch=True))
def test_every_schema_valid_name_is_accepted(value: str) -> None:
    stored = NAME.validate_python(value)
    assert 1 <= len(stored) <= NAME_MAX
    assert stored == stored.strip()


async def test_uuid_shaped_names_are_found_by_name_when_no_id_matches(
    client: httpx.AsyncClient, alice_headers: dict[str, str]
) -> None:
    first = await create_org_via_api(client, alice_headers, "Production")
    shaped = str(uuid.uuid4())
    by_name = await create_org_via_api(client, alice_headers, shaped)
    r = await client.get(f"/organizations/{shaped}", headers=alice_headers)
    assert r.json()["id"] == by_name["id"]
    # A name equal to another organization's id never hides that organization.
    await create_org_via_api(client, alice_headers, first["id"])
    r = await client.get(f"/organizations/{first['id']}", headers=alice_headers)
    assert r.json()["name"] == "Production"
