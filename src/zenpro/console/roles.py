"""An organization's roles, read-only: system roles and its custom roles, each with its
permission matrix (resource types by the actions of its level). Anyone in the organization may
read role definitions, as in the API (``GET /organizations/{id}/roles``, ``/roles/{id}``)."""

from __future__ import annotations

import uuid

from fastapi import Request
from fastapi.responses import Response

from zenpro.authz.vocabulary import LEVEL_ACTIONS, LEVEL_TYPES, Level
from zenpro.console.html import Markup, h, join
from zenpro.console.layout import Crumb, console_router, page
from zenpro.console.organizations import org_crumbs, org_section
from zenpro.console.widgets import link, row
from zenpro.deps import DB
from zenpro.errors import NotFound
from zenpro.organizations.deps import OrgRead
from zenpro.roles import service as roles
from zenpro.roles.schemas import RoleRead

router = console_router()


def _row(request: Request, org_id: uuid.UUID, role: RoleRead) -> Markup:
    kind = "System (read-only)" if role.system_managed else "Custom"
    return row(
        link(request, f"/console/organizations/{org_id}/roles/{role.id}", role.name),
        {"Level": role.level.capitalize(), "Kind": kind, "Description": role.description or ""},
    )


@router.get("/console/organizations/{organization_id}/roles")
async def console_roles(request: Request, db: DB, scoped: OrgRead) -> Response:
    """The roles usable in an organization (system and custom), by level and name."""
    org = scoped.obj
    stmt = roles.org_roles(scoped.access, org.id, None, None)
    found = list((await db.scalars(stmt)).all())
    order = {Level.organization: 0, Level.workspace: 1, Level.project: 2}
    found.sort(key=lambda r: (order.get(Level(r.level), 3), r.name.lower()))
    read = await roles.read_roles(db, found, org.id)
    table = h(
        '<table><caption class="vh">Roles</caption><thead><tr><th scope="col">Name</th>'
        '<th scope="col">Level</th><th scope="col">Kind</th><th scope="col">Description</th>'
        "</tr></thead><tbody>$rows</tbody></table>",
        rows=join(_row(request, org.id, r) for r in read),
    )
    return org_section(request, scoped.access, org, "Roles", [table], title=f"Roles in {org.name}")


def matrix(role: RoleRead) -> Markup:
    """Resource types (rows) by the level's actions (columns): what the role allows."""
    actions = LEVEL_ACTIONS[role.level]
    held = {(p.resource_type, a) for p in role.permissions for a in p.actions}
    head = join(h('<th scope="col">$a</th>', a=a.replace("_", " ")) for a in actions)
    rows = []
    for rtype in sorted(LEVEL_TYPES[role.level]):
        cells = join(
            h(
                '<td data-label="$a" class="$c">$t</td>',
                a=a.replace("_", " "),
                c="yes" if (rtype, a) in held else "no",
                t="Yes" if (rtype, a) in held else "—",
            )
            for a in actions
        )
        rows.append(h('<tr><th scope="row">$r</th>$c</tr>', r=rtype.replace("_", " "), c=cells))
    return h(
        '<div class="scroll" role="region" aria-label="Permissions of $n" tabindex="0">'
        '<table class="matrix"><caption>Permissions of $n</caption><thead><tr>'
        '<th scope="col">Resource type</th>$head</tr></thead><tbody>$rows</tbody></table></div>',
        n=role.name,
        head=head,
        rows=join(rows),
    )


@router.get("/console/organizations/{organization_id}/roles/{role_id}")
async def console_role(request: Request, db: DB, scoped: OrgRead, role_id: uuid.UUID) -> Response:
    """One role and its permission matrix (system roles cannot be changed)."""
    org = scoped.obj
    role = await roles.usable_in(db, role_id, org.id)
    if role is None:
        raise NotFound(f"Role {role_id} not found")
    (read,) = await roles.read_roles(db, [role], org.id)
    about = h(
        '<p class="lead">$d</p><p>$k role at the $l level.</p>',
        d=read.description or "",
        k="A system (read-only)" if read.system_managed else "A custom",
        l=read.level,
    )
    crumbs = org_crumbs(
        org, Crumb("Roles", f"/console/organizations/{org.id}/roles"), Crumb(read.name)
    )
    return page(request, read.name, join([about, matrix(read)]), crumbs)
