"""The published OpenAPI document promises no more than the server accepts (issue 13).

Schemathesis (``tests/fuzz``) finds where a schema-valid request is refused by trying;
these tests prove, from the document alone, the structural rules behind that:

- each path is listed once (routes of one path name their parameters alike), so a
  method's ``Allow`` and the document agree;
- every string the API takes says what text it refuses (a pattern, a format, an enum):
  the server refuses NUL everywhere;
- (no schema-valid request is refused for its size: ``tests/kit/test_request_limits.py``);
- the resource-string and email rules published are the ones the server applies.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from schemathesis.specs.openapi.formats import email_values
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import make_settings
from tests.fixtures.authz import make_org
from zenpro.authz import resources as res
from zenpro.kit.schemas import SPECIAL_USE_DOMAIN_PATTERN, Email
from zenpro.main import create_app
from zenpro.models import User

FORM = "application/x-www-form-urlencoded"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app(make_settings("sqlite+aiosqlite:///:memory:")).openapi()


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            yield method.upper(), path, op


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_each_path_is_listed_once(document: dict[str, Any]) -> None:
    seen: dict[str, str] = {}
    for path in document["paths"]:
        shape = re.sub(r"\{[^}]+\}", "{}", path)
        assert shape not in seen, f"{path} and {seen[shape]} are one path: name them alike"
        seen[shape] = path


def _bare_strings(doc: dict[str, Any], schema: dict[str, Any], where: str) -> Iterator[str]:
    """Strings (at any depth) that say nothing about the text they take."""
    seen: set[int] = set()

    def walk(node: dict[str, Any], at: str) -> Iterator[str]:
        if "$ref" in node:
            node = _resolve(doc, node)
            if id(node) in seen:
                return
            seen.add(id(node))
        said = {"pattern", "format", "enum", "const"} & set(node)
        if node.get("type") == "string" and not said and node.get("maxLength") != 0:
            yield at
        for key in ("anyOf", "oneOf", "allOf"):
            for i, sub in enumerate(node.get(key, [])):
                yield from walk(sub, f"{at}.{key}[{i}]")
        if isinstance(node.get("items"), dict):
            yield from walk(node["items"], f"{at}[]")
        for name, sub in node.get("properties", {}).items():
            yield from walk(sub, f"{at}.{name}")
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and not where.endswith(FORM):
            # A form's unknown fields are ignored, whatever they hold.
            yield from walk(extra, f"{at}.*")

    yield from walk(schema, where)


def test_every_string_the_api_takes_says_what_it_refuses(document: dict[str, Any]) -> None:
    bare: list[str] = []
    for method, path, op in _operations(document):
        for param in op.get("parameters", []):
            where = f"{method} {path} {param['in']} {param['name']}"
            bare.extend(_bare_strings(document, param["schema"], where))
        for media, content in op.get("requestBody", {}).get("content", {}).items():
            bare.extend(_bare_strings(document, content["schema"], f"{method} {path} {media}"))
    assert not bare, "\n".join(bare)


def test_every_bound_is_published_as_json_schema(document: dict[str, Any]) -> None:
    """pydantic writes a bound it cannot place as ``ge``/``le``, which JSON Schema ignores
    (so a generator would send what the server refuses): none may be left."""

    def keys(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            yield from node
            for value in node.values():
                yield from keys(value)
        elif isinstance(node, list):
            for value in node:
                yield from keys(value)

    assert not {"ge", "le", "gt", "lt"} & set(keys(document["components"]["schemas"]))


def test_no_parameter_is_published_as_null(document: dict[str, Any]) -> None:
    for method, path, op in _operations(document):
        for param in op.get("parameters", []):
            assert {"type": "null"} not in param["schema"].get("anyOf", []), (method, path)


# --- the published rules are the server's --------------------------------------------


@settings(max_examples=300, suppress_health_check=list(HealthCheck))
@given(st.from_regex(res.RESOURCE_PATTERN, fullmatch=True))
def test_every_published_resource_string_parses(value: str) -> None:
    res.parse(value)


@settings(max_examples=300)
@given(st.text(alphabet=string.ascii_lowercase + string.digits + "_:/-", max_size=100))
def test_a_string_the_pattern_refuses_does_not_parse(value: str) -> None:
    if re.fullmatch(res.RESOURCE_PATTERN, value) is None:
        with pytest.raises(res.BadResource):
            res.parse(value)


@settings(max_examples=300, suppress_health_check=list(HealthCheck))
@given(email_values())
def test_every_email_the_schema_admits_is_accepted(value: str) -> None:
    """schemathesis' own email generator, against email-validator through pydantic."""
    if re.search(SPECIAL_USE_DOMAIN_PATTERN, value):
        with pytest.raises(ValidationError):
            TypeAdapter(Email).validate_python(value)
    else:
        TypeAdapter(Email).validate_python(value)


# --- a few answers the schemas now state ---------------------------------------------


async def test_nul_in_a_query_parameter_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    r = await client.get("/users", params={"name": "a\x00b"}, headers=admin_headers)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "name"]


async def test_an_integer_field_takes_no_boolean_or_string(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """pydantic's lax int reads ``true`` as 1 and ``"5"`` as 5; the schema says integer."""
    key = await client.post("/users/me/api_keys", json={"name": "k"}, headers=admin_headers)
    assert key.status_code == 201, key.text
    url = f"/users/me/api_keys/{key.json()['id']}"
    for value in (True, "5"):
        r = await client.patch(url, json={"expires_in_minutes": value}, headers=admin_headers)
        assert r.status_code == 422, (value, r.text)
    r = await client.patch(url, json={"expires_in_minutes": 5}, headers=admin_headers)
    assert r.status_code == 200, r.text


async def test_nul_in_metadata_is_refused_at_any_depth(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for metadata in ({"a": ["b\x00"]}, {"a\x00": 1}, {"a": {"b": {"c\x00": None}}}):
        r = await client.patch("/users/me", json={"metadata": metadata}, headers=admin_headers)
        assert r.status_code == 422, metadata
    ok = {"a": [1, 2.5, True, None, {"b": "c"}]}
    r = await client.patch("/users/me", json={"metadata": ok}, headers=admin_headers)
    assert r.status_code == 200, r.text
    assert r.json()["metadata"] == ok


async def test_a_role_takes_only_the_permissions_of_its_level(
    client: httpx.AsyncClient, db: AsyncSession, alice: User, alice_headers: dict[str, str]
) -> None:
    """Per level in the schema (422 on create); on update the level is the role's, so
    pairs of another level conflict with it (409)."""
    org = await make_org(db, alice)
    body = {
        "organization_id": str(org.id),
        "name": "Readers",
        "level": "organization",
        "permissions": [{"resource_type": "team", "actions": ["read"]}],
    }
    created = await client.post("/roles", json=body, headers=alice_headers)
    assert created.status_code == 201, created.text
    stack = [{"resource_type": "stack", "actions": ["read"]}]
    wrong = {**body, "name": "Stacks", "permissions": stack}
    r = await client.post("/roles", json=wrong, headers=alice_headers)
    assert r.status_code == 422
    assert "stack" in r.text
    r = await client.patch(
        f"/roles/{created.json()['id']}",
        json={"permissions": stack},
        headers=alice_headers,
    )
    assert r.status_code == 409
    assert "organization-level" in r.text


async def test_the_token_endpoint_is_published_as_oauth2(app: FastAPI) -> None:
    schemes = app.openapi()["components"]["securitySchemes"]
    assert schemes["OAuth2"]["flows"]["password"]["tokenUrl"] == "/auth/login"
