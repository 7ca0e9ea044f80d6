"""The permission-matrix editor of a custom role: the level's resource types (rows) by its
actions (columns), one checkbox per pair, from the API's own vocabulary
(``authz.vocabulary``); the posted boxes become the API's schema (``roles.schemas``) and
the API's service decides (``roles.service``: who may define what, no escalation).

A box the author could not grant is shown disabled (``authz.granting.held``, the rule the
service applies); a forged post with it is still refused by the service."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from zenpro.authz.access import Access
from zenpro.authz.granting import Scope, administers_workspaces, held
from zenpro.authz.vocabulary import LEVEL_ACTIONS, LEVEL_TYPES, Level, Pair
from zenpro.console import forms, widgets
from zenpro.console.forms import Form
from zenpro.console.html import Markup, h, join
from zenpro.models import Organization
from zenpro.roles.schemas import (
    OrganizationRoleCreate,
    PermissionSet,
    ProjectRoleCreate,
    RoleUpdate,
    WorkspaceRoleCreate,
)

CREATE_SCHEMA = {
    Level.organization: OrganizationRoleCreate,
    Level.workspace: WorkspaceRoleCreate,
    Level.project: ProjectRoleCreate,
}
LEVEL_TEXT = {
    Level.organization: "Organization: the control plane (workspaces, members, teams…)",
    Level.workspace: "Workspace: resources of the workspaces it is assigned in",
    Level.project: "Project: resources of one project of a workspace",
}


def box(rtype: str, action: str) -> str:
    """The form field of one pair."""
    return f"p.{rtype}.{action}"


def _words(name: str) -> str:
    return name.replace("_", " ")


def definable_levels(access: Access, org: Organization) -> list[Level]:
    """The levels whose pairs the caller may put in a role at all (workspace and project
    pairs need workspace authority: ``granting.require_definable``)."""
    if administers_workspaces(access.grants, org.id):
        return list(Level)
    return [Level.organization]


def _grantable(access: Access, org: Organization, level: Level) -> frozenset[Pair] | None:
    """The pairs of ``level`` the caller may put in a role (None: all of them)."""
    if level is not Level.organization:
        return None if administers_workspaces(access.grants, org.id) else frozenset()
    return held(access.grants, Scope(org.id))


def _cell(
    form: Form | None, chosen: Collection[Pair], allowed: frozenset[Pair] | None, pair: Pair
) -> Markup:
    rtype, action = pair
    name = box(rtype, action)
    on = name in form.values if form is not None else pair in chosen
    off = allowed is not None and pair not in allowed and not on
    return h(
        '<td data-label="$a"><input type="checkbox" name="$n" value="on" '
        'aria-label="$t: $a"$c$d></td>',
        a=_words(action),
        n=name,
        t=_words(rtype),
        c=Markup(" checked") if on else Markup(""),
        d=Markup(' disabled title="You do not hold this yourself"') if off else Markup(""),
    )


def matrix_editor(
    access: Access,
    org: Organization,
    level: Level,
    form: Form | None,
    chosen: Collection[Pair] = (),
) -> Markup:
    """The boxes of ``level``: ticked as posted (``form``), else as the role holds
    (``chosen``); disabled where the caller could not grant the pair."""
    actions = LEVEL_ACTIONS[level]
    allowed = _grantable(access, org, level)
    head = join(h('<th scope="col">$a</th>', a=_words(a)) for a in actions)
    rows = [
        h(
            '<tr><th scope="row">$r</th>$c</tr>',
            r=_words(rtype),
            c=join(_cell(form, chosen, allowed, (rtype, a)) for a in actions),
        )
        for rtype in sorted(LEVEL_TYPES[level])
    ]
    problem = form.error("permissions") if form else None
    error = h('<p class="field-error">$m</p>', m=problem) if problem else Markup("")
    return h(
        '<fieldset class="matrix-edit"><legend>Permissions: tick what the role allows</legend>'
        '$e<div class="scroll" role="region" aria-label="Permission boxes" tabindex="0">'
        '<table class="matrix edit"><caption class="vh">Resource types by actions</caption>'
        '<thead><tr><th scope="col">Resource type</th>$head</tr></thead><tbody>$rows</tbody>'
        "</table></div></fieldset>",
        e=error,
        head=head,
        rows=join(rows),
    )


def ticked(form: Form, level: Level) -> list[dict[str, Any]]:
    """The posted boxes as the API's permission sets (only the level's own vocabulary is
    read: an unknown field is no permission)."""
    out = []
    for rtype in sorted(LEVEL_TYPES[level]):
        actions = [a for a in LEVEL_ACTIONS[level] if box(rtype, a) in form.values]
        if actions:
            out.append({"resource_type": rtype, "actions": actions})
    return out


def role_fields(form: Form | None, name: str | None = None, about: str | None = None) -> Markup:
    return join(
        [
            widgets.text_field(form, "name", "Role name", value=name, required=True),
            widgets.textarea(form, "description", "What it is for", value=about),
        ]
    )


def parse_create(form: Form, org: Organization, level: Level) -> Any:
    """The API's create schema of ``level`` from the form (None with errors noted)."""
    values = {
        **forms.name_and_description(form),
        "organization_id": org.id,
        "level": level.value,
        "permissions": ticked(form, level),
    }
    return forms.parse(form, CREATE_SCHEMA[level], values)


def parse_update(form: Form, level: Level) -> RoleUpdate | None:
    values = {**forms.name_and_description(form), "permissions": ticked(form, level)}
    return forms.parse(form, RoleUpdate, values)


def pairs(permissions: Collection[PermissionSet]) -> set[Pair]:
    return {(p.resource_type, a) for p in permissions for a in p.actions}
