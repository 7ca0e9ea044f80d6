"""The permission vocabulary and the system roles, as plain data (spec §6).

The seed migration writes ``SYSTEM_ROLES`` into the ``roles``/``role_permissions`` tables;
the checker reads only the tables. Tests compare the two.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum


class Level(StrEnum):
    organization = "organization"
    workspace = "workspace"
    project = "project"


# Workspace resource types, with the wire spellings of zenml 0.98.0.
GLOBAL_TYPES: frozenset[str] = frozenset(
    {
        "flavor",
        "secret",
        "service_connector",
        "stack",
        "stack_component",
        "tag",
        "service_account",
        "project",
    }
)
PROJECT_TYPES: frozenset[str] = frozenset(
    {
        "artifact",
        "artifact_version",
        "code_repository",
        "model",
        "model_version",
        "pipeline",
        "pipeline_run",
        "pipeline_deployment",
        "pipeline_build",
        "deployment",
        "schedule",
        "run_template",
        "service",
        "run_metadata",
        "trigger",
        "webhook",
    }
)
WORKSPACE_TYPES: frozenset[str] = GLOBAL_TYPES | PROJECT_TYPES
WORKSPACE_ACTIONS: tuple[str, ...] = (
    "create",
    "read",
    "update",
    "delete",
    "read_secret_value",
    "prune",
    "client",
    "promote",
    "backup_restore",
    "share",
)
# Control-plane types, governed by organization roles.
CONTROL_TYPES: tuple[str, ...] = (
    "organization",
    "workspace",
    "team",
    "member",
    "role",
    "service_account",
    "billing",
)
CONTROL_ACTIONS: tuple[str, ...] = ("create", "read", "update", "delete")

LEVEL_TYPES: dict[Level, frozenset[str]] = {
    Level.organization: frozenset(CONTROL_TYPES),
    Level.workspace: WORKSPACE_TYPES,
    Level.project: PROJECT_TYPES,
}
LEVEL_ACTIONS: dict[Level, tuple[str, ...]] = {
    Level.organization: CONTROL_ACTIONS,
    Level.workspace: WORKSPACE_ACTIONS,
    Level.project: WORKSPACE_ACTIONS,
}

Pair = tuple[str, str]


@dataclass(frozen=True)
class SystemRole:
    id: uuid.UUID
    name: str
    level: Level
    description: str
    permissions: frozenset[Pair]


def _all(types: frozenset[str] | tuple[str, ...], actions: tuple[str, ...]) -> frozenset[Pair]:
    return frozenset((t, a) for t in types for a in actions)


def _rid(n: int) -> uuid.UUID:
    # Stable ids so that migrations, tests and clients can name system roles.
    return uuid.UUID(f"00000000-0000-4000-8000-{n:012d}")


_CP_NO_BILLING = tuple(t for t in CONTROL_TYPES if t != "billing")
_WS_ALL = _all(WORKSPACE_TYPES, WORKSPACE_ACTIONS)
_STACKISH = ("stack", "stack_component", "flavor", "service_connector", "secret")


def _workspace_family(types: frozenset[str]) -> dict[str, frozenset[Pair]]:
    return {
        "Admin": _all(types, WORKSPACE_ACTIONS),
        "Developer": _all(types, tuple(a for a in WORKSPACE_ACTIONS if a != "backup_restore")),
        "Contributor": _all(types, ("create", "read")),
        "Viewer": _all(types, ("read",)),
    }


_ws = _workspace_family(WORKSPACE_TYPES)
_pj = _workspace_family(PROJECT_TYPES)

SYSTEM_ROLES: tuple[SystemRole, ...] = (
    SystemRole(
        _rid(1),
        "Organization Admin",
        Level.organization,
        "Everything on the organization, including billing and deleting it.",
        _all(CONTROL_TYPES, CONTROL_ACTIONS),
    ),
    SystemRole(
        _rid(2),
        "Organization Manager",
        Level.organization,
        "Create, read and update workspaces, teams, members, roles and service accounts.",
        _all(_CP_NO_BILLING, ("create", "read", "update")),
    ),
    SystemRole(
        _rid(3),
        "Organization Viewer",
        Level.organization,
        "Read everything in the organization except billing.",
        _all(_CP_NO_BILLING, ("read",)),
    ),
    SystemRole(
        _rid(4),
        "Billing Admin",
        Level.organization,
        "Read the organization; everything on billing.",
        frozenset({("organization", "read")}) | _all(("billing",), CONTROL_ACTIONS),
    ),
    SystemRole(
        _rid(5),
        "Organization Member",
        Level.organization,
        "Read the organization; sees only the workspaces and teams they belong to.",
        frozenset({("organization", "read")}),
    ),
    SystemRole(
        _rid(10),
        "Workspace Admin",
        Level.workspace,
        "Every action on every workspace resource; manages workspace members.",
        _ws["Admin"],
    ),
    SystemRole(
        _rid(11),
        "Workspace Developer",
        Level.workspace,
        "Every action but backup_restore; no member management.",
        _ws["Developer"],
    ),
    SystemRole(
        _rid(12),
        "Workspace Contributor",
        Level.workspace,
        "Create and read every workspace resource.",
        _ws["Contributor"],
    ),
    SystemRole(
        _rid(13),
        "Workspace Viewer",
        Level.workspace,
        "Read every workspace resource.",
        _ws["Viewer"],
    ),
    SystemRole(
        _rid(14),
        "Stack Admin",
        Level.workspace,
        "Every action on stacks, components, flavors, connectors and secrets; read elsewhere.",
        _all(_STACKISH, WORKSPACE_ACTIONS) | _ws["Viewer"],
    ),
    SystemRole(
        _rid(20),
        "Project Admin",
        Level.project,
        "Every action on the project's resources.",
        _pj["Admin"],
    ),
    SystemRole(
        _rid(21),
        "Project Developer",
        Level.project,
        "Every action but backup_restore on the project's resources.",
        _pj["Developer"],
    ),
    SystemRole(
        _rid(22),
        "Project Contributor",
        Level.project,
        "Create and read the project's resources.",
        _pj["Contributor"],
    ),
    SystemRole(
        _rid(23),
        "Project Viewer",
        Level.project,
        "Read the project's resources.",
        _pj["Viewer"],
    ),
)

ORG_ADMIN_ID = _rid(1)
ORG_MEMBER_ID = _rid(5)
WORKSPACE_ADMIN_ID = _rid(10)
WORKSPACE_VIEWER_ID = _rid(13)
SYSTEM_ROLE_BY_NAME = {r.name: r for r in SYSTEM_ROLES}
