"""Rules across parameters that an OpenAPI document cannot state, and the harness keeps.

OpenAPI describes each query parameter on its own, and JSON Schema cannot compare two
fields of a body; so "exactly one of `user_id`, `team_id`, `invitation_id`" or "`name` and
`username` equal when both are sent" live in the operation's description. A generated
case that breaks such a rule is not a request the contract promises to accept, so positive
cases that break one are dropped before they are sent; negative cases are left alone (the
server refuses them for whichever reason). ``test_the_rules_are_in_the_descriptions``
checks that every rule here is stated, in these words, by its operation. Also dropped:
positive cases whose header values break their own schema (:func:`_headers_as_declared`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema_rs

from zenpro.authz.resources import RESOURCE_PATTERN
from zenpro.authz.vocabulary import CONTROL_ACTIONS, CONTROL_TYPES


@dataclass(frozen=True)
class Rule:
    says: str  # words of the operation's description that state the rule
    holds: Callable[[Mapping[str, Any], Any], bool]  # (query, body) -> does it hold


def _given(query: Mapping[str, Any], name: str) -> bool:
    return query.get(name) not in (None, "", [])


def exactly_one(*names: str) -> Callable[[Mapping[str, Any], Any], bool]:
    def holds(query: Mapping[str, Any], body: Any) -> bool:
        return sum(_given(query, n) for n in names) == 1

    return holds


def _one_login_name(query: Mapping[str, Any], body: Any) -> bool:
    if not isinstance(body, dict) or body.get("name") is None or body.get("username") is None:
        return True
    return bool(body["name"] == body["username"])


def _permission_kind(query: Mapping[str, Any], body: Any) -> bool:
    raw = query.get("resource")
    resources = raw if isinstance(raw, list) else [raw]
    action = query.get("action")
    if _given(query, "workspace_id"):
        return all(isinstance(r, str) and re.fullmatch(RESOURCE_PATTERN, r) for r in resources)
    return all(r in CONTROL_TYPES for r in resources) and action in (None, *CONTROL_ACTIONS)


_ASSIGN = Rule(
    "Exactly one of `user_id`, `team_id`, `invitation_id`",
    exactly_one("user_id", "team_id", "invitation_id"),
)
_TEAM = Rule("Exactly one of `user_id`", exactly_one("user_id", "invitation_id"))
_SA = Rule("if both are sent they must be equal", _one_login_name)
SA_PATH = "/organizations/{organization_id}/service_accounts"

RULES: dict[tuple[str, str], Rule] = {
    ("POST", "/roles/{role_id}/assignments"): _ASSIGN,
    ("DELETE", "/roles/{role_id}/assignments"): _ASSIGN,
    ("POST", "/teams/{team_id}/members"): _TEAM,
    ("DELETE", "/teams/{team_id}/members"): _TEAM,
    ("POST", SA_PATH): _SA,
    ("PATCH", SA_PATH + "/{sa_id_or_username}"): _SA,
    ("GET", "/permissions"): Rule("the parameters choose one", _permission_kind),
}


def _headers_as_declared(case: Any) -> bool:
    """schemathesis 4.32.5's coverage phase builds header values from ``[A-Za-z0-9]`` only;
    for a header whose pattern needs other characters (``zenml-server-url``: `://`) it
    sends a placeholder such as ``0`` in a case it marks positive. Such a case is not
    schema-valid: it is dropped like any other that breaks the contract."""
    headers = case.headers or {}
    for param in case.operation.iter_parameters():
        value = headers.get(param.name)
        if param.location.value == "header" and isinstance(value, str):
            schema = param.definition.get("schema", {})
            if not jsonschema_rs.validator_for(schema).is_valid(value):
                return False
    return True


def keeps_the_rules(context: Any, case: Any) -> bool:
    """A ``filter_case`` hook: drop positive cases that break their operation's rule."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return True
    rule = RULES.get((case.method.upper(), case.operation.path))
    if rule is not None and not rule.holds(case.query or {}, case.body):
        return False
    return _headers_as_declared(case)
