"""An organization's roles: system roles (read-only) and its custom roles, each with its
permission matrix (resource types by the actions of its level); custom roles created,
edited and deleted in the matrix editor (``console.role_editor``); who holds a role, with
Revoke and "Assign this role". Anyone in the organization may read role definitions, as
in the API (``GET /organizations/{id}/roles``, ``/roles/{id}``); every change goes
through ``roles.service``, which decides."""

from __future__ import annotations

import uuid
from typing import Annotated, Unpack

from fastapi import Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.authz.access import Access
from zenpro.authz.guards import Scoped
from zenpro.authz.vocabulary import LEVEL_ACTIONS, LEVEL_TYPES, Level
from zenpro.console import assignments, forms, guards, role_editor, widgets
from zenpro.console.html import Markup, h, join
from zenpro.console.layout import (
    Crumb,
    Notices,
    Shown,
    console_router,
    refused,
    shown_page,
    url,
)
from zenpro.console.organizations import org_crumbs, org_section
from zenpro.console.paging import Notice
from zenpro.deps import DB
from zenpro.errors import Conflict, NotFound, ZenproError
from zenpro.models import Organization, Role
from zenpro.organizations.deps import OrgRead
from zenpro.roles import service as roles
from zenpro.roles.schemas import RoleRead

router = console_router()
NOTICES = Notices(
    {
        "created": "Role created. Assign it to a team, a user or a service account.",
        "saved": "Role saved: its holders have the new permissions from their next request.",
        "deleted": "Role deleted.",
        "assigned": "Role assigned.",
        "unassigned": "Assignment revoked.",
    }
)
LevelQ = Annotated[Level, Query(description="The new role's level.")]
ORDER = {Level.organization: 0, Level.workspace: 1, Level.project: 2}


def _row(request: Request, org_id: uuid.UUID, role: RoleRead) -> Markup:
    kind = "System (read-only)" if role.system_managed else "Custom"
    return widgets.row(
        widgets.link(request, f"/console/organizations/{org_id}/roles/{role.id}", role.name),
        {"Level": role.level.capitalize(), "Kind": kind, "Description": role.description or ""},
    )


@router.get("/console/organizations/{organization_id}/roles")
async def console_roles(
    request: Request, db: DB, scoped: OrgRead, notice: Notice = None
) -> Response:
    """The roles usable in an organization (system and custom), by level and name."""
    org, access = scoped.obj, scoped.access
    found = list((await db.scalars(roles.org_roles(access, org.id, None, None))).all())
    found.sort(key=lambda r: (ORDER.get(Level(r.level), 3), r.name.lower()))
    read = await roles.read_roles(db, found, org.id)
    table = widgets.table(
        "Roles",
        ("Name", "Level", "Kind", "Description"),
        (_row(request, org.id, r) for r in read),
    )
    parts = [table]
    if access.grants.org_allows(org.id, "role", "create"):
        parts.insert(
            0,
            h(
                '<div class="toolbar"><h2>System and custom roles</h2>$l</div>',
                l=widgets.link(
                    request, f"/console/organizations/{org.id}/roles/new", "New role", "button"
                ),
            ),
        )
    return org_section(
        request,
        access,
        org,
        "Roles",
        parts,
        {"notice": NOTICES.of(notice)},
        title=f"Roles in {org.display_name or org.name}",
    )


def matrix(role: RoleRead) -> Markup:
    """Resource types (rows) by the level's actions (columns): what the role allows."""
    actions = LEVEL_ACTIONS[role.level]
    held = role_editor.pairs(role.permissions)
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


def _levels(request: Request, access: Access, org: Organization, level: Level) -> Markup:
    """The levels the caller may define, as links (the matrix is the level's)."""
    items = [
        h(
            '<li><a href="$u"$c>$l</a></li>',
            u=url(request, f"/console/organizations/{org.id}/roles/new?level={lv.value}"),
            l=role_editor.LEVEL_TEXT[lv],
            c=Markup(' aria-current="page"') if lv is level else Markup(""),
        )
        for lv in role_editor.definable_levels(access, org)
    ]
    return h(
        '<nav class="levels" aria-label="Level of the new role"><p>Level:</p><ul>$i</ul></nav>',
        i=join(items),
    )


def _new_page(
    request: Request, scoped: Scoped[Organization], level: Level, **shown: Unpack[Shown]
) -> Response:
    org, access = scoped.obj, scoped.access
    form = shown.get("form")
    fields = join(
        [
            h('<input type="hidden" name="level" value="$l">', l=level.value),
            role_editor.role_fields(form),
            role_editor.matrix_editor(access, org, level, form),
        ]
    )
    body = join(
        [
            h(
                "<p>A custom role lists what its holders may do: tick the actions per "
                "resource type. You may list only what you could grant yourself.</p>"
            ),
            _levels(request, access, org, level),
            widgets.form_errors(form, shown.get("problem")),
            widgets.csrf_form(
                request,
                f"/console/organizations/{org.id}/roles",
                "wide",
                join(
                    [
                        fields,
                        Markup(
                            '<div class="actions"><button type="submit">Create role</button></div>'
                        ),
                    ]
                ),
            ),
        ]
    )
    crumbs = org_crumbs(
        org, Crumb("Roles", f"/console/organizations/{org.id}/roles"), Crumb("New role")
    )
    return shown_page(request, f"New {level.value}-level role", body, crumbs, shown)


@router.get("/console/organizations/{organization_id}/roles/new")
async def console_new_role(
    request: Request, scoped: guards.RoleCreate, level: LevelQ = Level.organization
) -> Response:
    """The matrix editor for a new custom role of one level."""
    return _new_page(request, scoped, level)


def _level_of(raw: str) -> Level:
    try:
        return Level(raw)
    except ValueError:
        return Level.organization


@router.post("/console/organizations/{organization_id}/roles")
async def console_create_role(request: Request, db: DB, scoped: guards.RoleCreate) -> Response:
    """Create a custom role (the API's ``POST /roles``)."""
    form = await forms.read(request)
    level = _level_of(form.get("level"))
    data = role_editor.parse_create(form, scoped.obj, level)
    if data is None:
        return _new_page(request, scoped, level, form=form, status=400)
    try:
        async with db.begin_nested():
            role = await roles.create_role(db, scoped.access, data)
    except ZenproError as exc:
        return _new_page(request, scoped, level, form=form, **refused(exc))
    target = f"/console/organizations/{scoped.obj.id}/roles/{role.id}?notice=created"
    return RedirectResponse(url(request, target), status_code=303)


async def _found(db: AsyncSession, org: Organization, role_id: uuid.UUID) -> Role:
    role = await roles.usable_in(db, role_id, org.id)
    if role is None:
        raise NotFound(f"Role {role_id} not found")
    return role


def _edit_section(
    request: Request, scoped: Scoped[Organization], read: RoleRead, shown: Shown
) -> Markup:
    org, access = scoped.obj, scoped.access
    form = shown.get("form")
    fields = join(
        [
            role_editor.role_fields(form, read.name, read.description),
            role_editor.matrix_editor(
                access, org, read.level, form, role_editor.pairs(read.permissions)
            ),
        ]
    )
    submit = Markup('<div class="actions"><button type="submit">Save role</button></div>')
    return h(
        '<section aria-labelledby="r-edit"><h2 id="r-edit">Edit</h2>$e$f</section>',
        e=widgets.form_errors(form, shown.get("problem")),
        f=widgets.csrf_form(
            request,
            f"/console/organizations/{org.id}/roles/{read.id}/settings",
            "wide",
            join([fields, submit]),
        ),
    )


def _delete_section(
    request: Request, org: Organization, read: RoleRead, problem: str | None
) -> Markup:
    force = Markup("")
    explain = Markup("")
    if problem:
        explain = h(
            '<p class="notice error" role="alert">$m</p><p>Its holders lose what it allows '
            "if you delete it. Tick the box to delete it together with its assignments.</p>",
            m=problem,
        )
        force = Markup(
            '<div class="field check"><input type="checkbox" id="f-force" name="force" '
            'value="true"><label for="f-force">Also remove its assignments</label></div>'
        )
    submit = Markup(
        '<div class="actions"><button type="submit" class="danger">Delete role</button></div>'
    )
    return h(
        '<section aria-labelledby="r-del" class="danger-zone"><h2 id="r-del">Delete</h2>$x$f'
        "</section>",
        x=explain,
        f=widgets.csrf_form(
            request,
            f"/console/organizations/{org.id}/roles/{read.id}/delete",
            "stack",
            join([force, submit]),
        ),
    )


async def _role_page(
    request: Request,
    db: AsyncSession,
    scoped: Scoped[Organization],
    role: Role,
    delete_problem: str | None = None,
    **shown: Unpack[Shown],
) -> Response:
    org, access = scoped.obj, scoped.access
    (read,) = await roles.read_roles(db, [role], org.id)
    allows = access.grants.org_allows
    custom = not read.system_managed
    about = h(
        '<p class="lead">$d</p><p>$k role at the $l level.</p>',
        d=read.description or "",
        k="A system (read-only)" if read.system_managed else "A custom",
        l=read.level,
    )
    parts = [about]
    if custom and allows(org.id, "role", "update"):
        parts.append(_edit_section(request, scoped, read, shown))
    else:
        parts += [widgets.form_errors(None, shown.get("problem")), matrix(read)]
    if allows(org.id, "member", "read"):
        held = await assignments.held_in(db, org.id, role_id=role.id)
        back = f"role:{read.id}"
        parts.append(
            h(
                '<section aria-labelledby="r-held"><h2 id="r-held">Who holds it</h2>$t$a</section>',
                t=assignments.held_table(request, access, org, held, back, holders=True),
                a=assignments.assign_link(request, org, role_id=str(read.id))
                if assignments.may_assign_here(access, org)
                else Markup(""),
            )
        )
    if custom and allows(org.id, "role", "delete"):
        parts.append(_delete_section(request, org, read, delete_problem))
    crumbs = org_crumbs(
        org, Crumb("Roles", f"/console/organizations/{org.id}/roles"), Crumb(read.name)
    )
    return shown_page(request, read.name, join(parts), crumbs, shown)


@router.get("/console/organizations/{organization_id}/roles/{role_id}")
async def console_role(
    request: Request, db: DB, scoped: OrgRead, role_id: uuid.UUID, notice: Notice = None
) -> Response:
    """One role: its permission matrix (an editor for custom roles, for who may edit),
    who holds it, and deleting it."""
    role = await _found(db, scoped.obj, role_id)
    return await _role_page(request, db, scoped, role, notice=NOTICES.of(notice))


@router.post("/console/organizations/{organization_id}/roles/{role_id}/settings")
async def console_update_role(
    request: Request, db: DB, scoped: OrgRead, role_id: uuid.UUID
) -> Response:
    """Save a custom role's name, description and permissions (``PATCH /roles/{id}``)."""
    role = await _found(db, scoped.obj, role_id)
    form = await forms.read(request)
    data = role_editor.parse_update(form, Level(role.level))
    if data is None:
        return await _role_page(request, db, scoped, role, form=form, status=400)
    try:
        async with db.begin_nested():
            await roles.update_role(db, scoped.access, role_id, data)
    except ZenproError as exc:
        await db.refresh(role)  # as it was: the service may have begun to change it
        return await _role_page(request, db, scoped, role, form=form, **refused(exc))
    target = f"/console/organizations/{scoped.obj.id}/roles/{role_id}?notice=saved"
    return RedirectResponse(url(request, target), status_code=303)


@router.post("/console/organizations/{organization_id}/roles/{role_id}/delete")
async def console_delete_role(
    request: Request, db: DB, scoped: OrgRead, role_id: uuid.UUID
) -> Response:
    """Delete a custom role; while it is assigned the API's 409 is explained, with the
    choice to remove its assignments too."""
    role = await _found(db, scoped.obj, role_id)
    form = await forms.read(request)
    try:
        async with db.begin_nested():
            await roles.delete_role(db, scoped.access, role_id, form.get("force") == "true")
    except Conflict as exc:
        await db.refresh(role)
        return await _role_page(request, db, scoped, role, delete_problem=exc.message, status=409)
    target = f"/console/organizations/{scoped.obj.id}/roles?notice=deleted"
    return RedirectResponse(url(request, target), status_code=303)
