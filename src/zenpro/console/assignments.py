"""Role assignments at organization, workspace and project level, for users, service
accounts and teams: the list of who holds what (with Revoke), and the page to assign a
role (to change one: assign the new, revoke the old).

Everything is decided by the API's services: ``roles.service.resolve_scope`` (the scope
fits the role), ``assign`` and ``unassign`` (who may manage assignments, nobody grants
more than they hold, the owner keeps Organization Admin). What the pages offer follows
the same functions (``may_manage_assignments``, ``authz.granting``); a forged post is
refused by the service with nothing changed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Unpack
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.authz.access import Access
from zenpro.authz.granting import Scope
from zenpro.authz.guards import Scoped
from zenpro.console import forms, widgets
from zenpro.console.html import Markup, h, join
from zenpro.console.layout import Crumb, Shown, console_router, refused, shown_page, url
from zenpro.console.organizations import org_crumbs
from zenpro.deps import DB
from zenpro.errors import Forbidden, NotFound, ZenproError
from zenpro.models import Organization, Role, RoleAssignment, Team, Workspace
from zenpro.organizations import service as orgs
from zenpro.organizations.deps import OrgRead
from zenpro.roles import repository as roles_repo
from zenpro.roles import service as roles
from zenpro.teams import repository as teams_repo
from zenpro.workspaces import repository as ws_repo
from zenpro.workspaces import service as workspaces

router = console_router()
LEVEL_WORDS = {"organization": "Organization", "workspace": "Workspace", "project": "Project"}
SubjectQ = Annotated[str | None, Query(max_length=64, description="user:<id> or team:<id>.")]
RoleQ = Annotated[str | None, Query(max_length=64, description="The role to preselect.")]


@dataclass(frozen=True)
class Held:
    """One assignment as a page lists it."""

    assignment: RoleAssignment
    role: Role
    workspace: str | None
    holder: str

    @property
    def scope(self) -> Scope:
        a = self.assignment
        return Scope(a.organization_id, a.workspace_id, a.project_id)

    @property
    def where(self) -> str:
        a = self.assignment
        if a.workspace_id is None:
            return "The organization"
        ws = self.workspace or str(a.workspace_id)
        return f"Workspace {ws}" if a.project_id is None else f"Project {a.project_id} in {ws}"


async def held_in(
    db: AsyncSession,
    org_id: uuid.UUID,
    *,
    role_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    team_id: uuid.UUID | None = None,
    limit: int = 200,
) -> list[Held]:
    """The organization's assignments of a role, or of a user or team (one statement)."""
    stmt = roles_repo.org_assignments_stmt(
        org_id, role_id=role_id, user_id=user_id, team_id=team_id
    )
    out = []
    for a, role, ws, user, team, email in (await db.execute(stmt.limit(limit))).all():
        holder = user or (f"Team {team}" if team else f"{email} (invited)")
        out.append(Held(a, role, ws, holder))
    return out


def may_manage(access: Access, role: Role, scope: Scope) -> bool:
    """Whether the caller may assign or revoke ``role`` at ``scope`` at all (the
    service's own rule; what it would hand out is checked when it is posted)."""
    try:
        roles.may_manage_assignments(access, role, scope)
    except Forbidden:
        return False
    return True


def subject_of(value: str) -> roles.Subject | None:
    """``user:<id>`` or ``team:<id>`` as the service's subject (None if neither)."""
    kind, _, raw = value.partition(":")
    try:
        ident = uuid.UUID(raw)
    except ValueError:
        return None
    if kind == "user":
        return roles.Subject(user_id=ident)
    if kind == "team":
        return roles.Subject(team_id=ident)
    return None


def back_path(org_id: uuid.UUID, back: str) -> str:
    """Where to go after a change: the page it was made from (a role, a member, a team),
    named by kind and id so the address cannot lead elsewhere."""
    kind, _, raw = back.partition(":")
    try:
        ident = uuid.UUID(raw)
    except ValueError:
        return f"/console/organizations/{org_id}/members"
    if kind == "role":
        return f"/console/organizations/{org_id}/roles/{ident}"
    if kind == "team":
        return f"/console/teams/{ident}/roles"
    return f"/console/organizations/{org_id}/members/{ident}"


def held_table(
    request: Request,
    access: Access,
    org: Organization,
    items: Sequence[Held],
    back: str,
    *,
    holders: bool = False,
) -> Markup:
    """Assignments with a Revoke button where the caller may manage them."""
    if not items:
        return widgets.empty("No role assigned here yet.")
    rows = []
    for it in items:
        cells: dict[str, Any] = {"Level": LEVEL_WORDS.get(it.role.level, it.role.level)}
        cells["Where"] = it.where
        if holders:
            cells["Holder"] = it.holder
        actions = Markup("")
        if may_manage(access, it.role, it.scope):
            actions = widgets.remove_button(
                request,
                f"/console/organizations/{org.id}/assignments/revoke",
                "Revoke",
                f"Revoke {it.role.name} from {it.holder} ({it.where})",
                assignment_id=str(it.assignment.id),
                back=back,
            )
        rows.append(widgets.row(it.role.name, cells, actions))
    head = ("Role", "Level", "Where", *(("Holder",) if holders else ()), "Actions")
    return widgets.table("Role assignments", head, rows)


def assign_link(request: Request, org: Organization, **query: str) -> Markup:
    target = f"/console/organizations/{org.id}/assignments/new?{urlencode(query)}"
    return h("<p>$l</p>", l=widgets.link(request, target, "Assign a role", "button"))


def may_assign_here(access: Access, org: Organization) -> bool:
    """Whether to offer "Assign a role" in this organization: member managers. (A
    Workspace Admin may assign roles in their workspace through the API, but the form
    lists the organization's members and teams, which they may not read.)"""
    return access.grants.org_allows(org.id, "member", "update")


async def _options(
    db: AsyncSession, access: Access, org: Organization
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[tuple[str, str]]]:
    """The roles, holders and workspaces the assign form offers."""
    found = (await db.scalars(roles.org_roles(access, org.id, None, None))).all()
    order = {"organization": 0, "workspace": 1, "project": 2}
    ordered = sorted(found, key=lambda r: (order.get(r.level, 3), r.name.lower()))
    role_opts = [
        (str(roles.presented_id(r, org.id)), f"{LEVEL_WORDS.get(r.level, r.level)} · {r.name}")
        for r in ordered
    ]
    people = await orgs.member_users(db, org)
    team_rows = (await db.scalars(teams_repo.list_stmt(org.id, None).order_by(Team.name))).all()
    holder_opts = [(f"team:{t.id}", f"Team {t.name}") for t in team_rows]
    holder_opts += [
        (f"user:{u.id}", f"{u.username} (service account)" if u.is_service_account else u.username)
        for u in people
    ]
    filters = ws_repo.Filters(organization_id=org.id)
    stmt = workspaces.list_stmt(access, filters, member_only=False).where(
        Workspace.status != "deleted"
    )
    spaces = (await db.scalars(stmt.order_by(Workspace.name).limit(100))).all()
    ws_opts = [("", "None: an organization role")] + [(str(w.id), w.name) for w in spaces]
    return role_opts, holder_opts, ws_opts


async def _assign_page(
    request: Request,
    db: AsyncSession,
    scoped: Scoped[Organization],
    preset: dict[str, str],
    **shown: Unpack[Shown],
) -> Response:
    org, access = scoped.obj, scoped.access
    if not may_assign_here(access, org):
        # the form lists the organization's teams and members: only for who may assign
        raise Forbidden("You may not assign roles in this organization")
    form = shown.get("form")
    role_opts, holder_opts, ws_opts = await _options(db, access, org)
    fields = join(
        [
            widgets.select(form, "subject", "Who", holder_opts, value=preset.get("subject")),
            widgets.select(form, "role_id", "Role", role_opts, value=preset.get("role_id")),
            widgets.select(
                form, "workspace_id", "Workspace (workspace and project roles)", ws_opts
            ),
            widgets.text_field(
                form,
                "project_id",
                "Project id (project roles only)",
                hint="The id of the project in that workspace's ZenML server.",
            ),
            h('<input type="hidden" name="back" value="$b">', b=preset.get("back", "")),
        ]
    )
    body = h(
        "<p>An organization role applies to the whole organization; a workspace role needs "
        "a workspace, a project role a workspace and a project. You may assign only what you "
        "hold yourself. To change a role, assign the new one and revoke the old.</p>$e$f",
        e=widgets.form_errors(form, shown.get("problem")),
        f=widgets.post_form(
            request, f"/console/organizations/{org.id}/assignments", fields, "Assign"
        ),
    )
    crumbs = org_crumbs(
        org, Crumb("Members", f"/console/organizations/{org.id}/members"), Crumb("Assign a role")
    )
    return shown_page(request, "Assign a role", body, crumbs, shown)


@router.get("/console/organizations/{organization_id}/assignments/new")
async def console_new_assignment(
    request: Request, db: DB, scoped: OrgRead, subject: SubjectQ = None, role_id: RoleQ = None
) -> Response:
    """The form to assign a role to a user, service account or team, at a scope."""
    preset = {"subject": subject or "", "role_id": role_id or ""}
    preset["back"] = f"role:{role_id}" if role_id and not subject else (subject or "")
    return await _assign_page(request, db, scoped, preset)


@router.post("/console/organizations/{organization_id}/assignments")
async def console_assign(request: Request, db: DB, scoped: OrgRead) -> Response:
    """Assign a role (the API's ``POST /roles/{id}/assignments``)."""
    form = await forms.read(request)
    preset = {"back": form.get("back")}
    subject = subject_of(form.get("subject"))
    if subject is None:
        form.errors["subject"] = "Choose who gets the role."
    role_id = forms.optional_id(form, "role_id")
    if role_id is None and "role_id" not in form.errors:
        form.errors["role_id"] = "Choose a role."
    ws_id = forms.optional_id(form, "workspace_id")
    project_id = forms.optional_id(form, "project_id", "Give the project's id, or leave it empty.")
    if form.errors or subject is None or role_id is None:
        return await _assign_page(request, db, scoped, preset, form=form, status=400)
    org, access = scoped.obj, scoped.access
    try:
        async with db.begin_nested():
            named = await roles.named_role(db, access, role_id)
            scope = await roles.resolve_scope(db, access, named, subject, org.id, ws_id, project_id)
            await roles.assign(db, access, named.role, scope, subject)
    except ZenproError as exc:
        return await _assign_page(request, db, scoped, preset, form=form, **refused(exc))
    target = back_path(org.id, form.get("back") or form.get("subject"))
    return RedirectResponse(url(request, f"{target}?notice=assigned"), status_code=303)


@router.post("/console/organizations/{organization_id}/assignments/revoke")
async def console_revoke_assignment(request: Request, db: DB, scoped: OrgRead) -> Response:
    """Revoke one assignment of this organization (the API's ``DELETE
    /roles/{id}/assignments`` with the assignment's role, scope and holder)."""
    form = await forms.read(request)
    org, access = scoped.obj, scoped.access
    try:
        assignment_id = uuid.UUID(form.get("assignment_id"))
    except ValueError:
        raise NotFound("No such role assignment here") from None
    found = await db.get(RoleAssignment, assignment_id)
    if found is None or found.organization_id != org.id:
        raise NotFound("No such role assignment here")
    role = await roles_repo.get_role(db, found.role_id)
    assert role is not None  # an assignment's role outlives it (ON DELETE CASCADE)
    scope = Scope(found.organization_id, found.workspace_id, found.project_id)
    subject = roles.Subject(found.user_id, found.team_id, found.invitation_id)
    await roles.unassign(db, access, role, scope, subject)
    target = back_path(org.id, form.get("back"))
    return RedirectResponse(url(request, f"{target}?notice=unassigned"), status_code=303)
