"""An organization's members: users, service accounts, teams and pending invitations with
their organization roles; invite by email with a role; remove a user; revoke an
invitation. Guards are the API's (``organizations.deps``: member read/create/delete)."""

from __future__ import annotations

import uuid
from typing import Unpack

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from zenpro.authz.access import Access
from zenpro.authz.guards import Scoped
from zenpro.authz.vocabulary import Level
from zenpro.console import assignments, forms, widgets
from zenpro.console.forms import Form
from zenpro.console.html import Markup, h, join
from zenpro.console.invitations import console_link
from zenpro.console.layout import Crumb, Notices, Shown, console_router, page, refused, url
from zenpro.console.organizations import org_crumbs, org_section
from zenpro.console.paging import Notice, Offset, pager, params
from zenpro.deps import DB, AppSettings, app_settings
from zenpro.errors import NotFound, ZenproError
from zenpro.invitations import service as invitations
from zenpro.invitations.schemas import InvitationCreate
from zenpro.models import Organization, Role, Team, Workspace
from zenpro.organizations import service as orgs
from zenpro.organizations.deps import MemberCreate, MemberDelete, MemberRead
from zenpro.organizations.schemas import MemberRead as Member
from zenpro.organizations.schemas import MemberType, RoleRef
from zenpro.roles import service as roles
from zenpro.teams import repository as teams_repo
from zenpro.teams import service as teams
from zenpro.workspaces import repository as ws_repo
from zenpro.workspaces import service as workspaces

router = console_router()
NOTICES = Notices(
    {
        "removed": "Member removed from the organization (their roles, teams and shares here).",
        "revoked": "Invitation revoked.",
        "assigned": "Role assigned.",
        "unassigned": "Assignment revoked.",
    }
)
TYPE_TEXT = {
    MemberType.user: "User",
    MemberType.service_account: "Service account",
    MemberType.team: "Team",
    MemberType.invitation: "Invitation",
}


def _roles(roles: list[RoleRef]) -> str:
    return ", ".join(r.name for r in roles) or "—"


def _row_actions(request: Request, access: Access, org: Organization, m: Member) -> Markup:
    if not access.grants.org_allows(org.id, "member", "delete"):
        return Markup("")
    base = f"/console/organizations/{org.id}"
    if m.type is MemberType.invitation:
        action, describe = f"{base}/invitations/{m.id}/delete", f"Revoke the invitation of {m.name}"
        return widgets.remove_button(request, action, "Revoke", describe)
    if m.type in (MemberType.user, MemberType.service_account) and m.id != org.owner_id:
        describe = f"Remove {m.name} from the organization"
        return widgets.remove_button(
            request, f"{base}/members/remove", "Remove", describe, user_id=str(m.id)
        )
    return Markup("")


def _member_path(org: Organization, m: Member) -> str | None:
    """The page of a member's roles: a user's or service account's here, a team's own."""
    if m.type is MemberType.team:
        return f"/console/teams/{m.id}"
    if m.type in (MemberType.user, MemberType.service_account):
        return f"/console/organizations/{org.id}/members/{m.id}"
    return None


def _row(request: Request, access: Access, org: Organization, m: Member) -> Markup:
    detail: Markup | str = m.email or ""
    if m.type is MemberType.invitation:
        detail = h("$e (pending, expires $w)", e=m.email or "", w=widgets.when(m.expires))
        if access.grants.org_allows(org.id, "member", "create"):  # who may invite passes it on
            link = console_link(app_settings(request), m.id)
            detail = h('$d<br>Link: <code class="invite-link">$l</code>', d=detail, l=link)
    if m.id == org.owner_id:
        detail = h("$d (owner)", d=detail)
    cells = {"Type": TYPE_TEXT[m.type], "Email": detail, "Roles": _roles(m.roles)}
    path = _member_path(org, m)
    name = widgets.link(request, path, m.name) if path else m.name
    return widgets.row(name, cells, _row_actions(request, access, org, m))


def _invite_link(request: Request, access: Access, org: Organization) -> Markup:
    if not access.grants.org_allows(org.id, "member", "create"):
        return Markup("")
    return h(
        "<p>$l</p>",
        l=widgets.link(
            request, f"/console/organizations/{org.id}/invitations/new", "Invite someone", "button"
        ),
    )


async def _invite_page(
    request: Request,
    db: DB,
    scoped: Scoped[Organization],
    form: Form | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    """Email, organization role, and optionally a workspace role and a team, all carried by
    the invitation until it is accepted. Only roles the inviter may grant are offered."""
    org, access = scoped.obj, scoped.access
    offered = await invitations.offerable_roles(db, access, org)
    options = [(str(RoleRef.of(r, org.id).id), r.name) for r in offered]
    member = next((v for v, name in options if name == "Organization Member"), "")
    filters = ws_repo.Filters(organization_id=org.id)
    stmt = workspaces.list_stmt(access, filters, member_only=False).where(
        Workspace.status != "deleted"
    )
    spaces = (await db.scalars(stmt.order_by(Workspace.name).limit(100))).all()
    ws_roles = (
        await db.scalars(roles.org_roles(access, org.id, Level.workspace, None).order_by(Role.name))
    ).all()
    team_rows = (await db.scalars(teams_repo.list_stmt(org.id, None).order_by(Team.name))).all()
    fields = join(
        [
            widgets.text_field(
                form, "email", "Email", required=True, kind="email", autocomplete="email"
            ),
            widgets.select(form, "role_id", "Organization role", options, value=member),
            widgets.select(
                form,
                "workspace_id",
                "Workspace (optional)",
                [("", "No workspace")] + [(str(w.id), w.name) for w in spaces],
            ),
            widgets.select(
                form,
                "workspace_role_id",
                "Role in that workspace",
                [("", "No workspace role")]
                + [(str(RoleRef.of(r, org.id).id), r.name) for r in ws_roles],
            ),
            widgets.select(
                form,
                "team_id",
                "Team (optional)",
                [("", "No team")] + [(str(t.id), t.name) for t in team_rows],
            ),
        ]
    )
    body = h(
        "<p>They accept when signed in with this email address. No email is sent: pass on the "
        "invitation link shown after inviting. What you choose here is theirs once they "
        "accept; you may grant only what you hold.</p>$e$f",
        e=widgets.form_errors(form, problem),
        f=widgets.post_form(
            request, f"/console/organizations/{org.id}/invitations", fields, "Invite"
        ),
    )
    crumbs = org_crumbs(
        org, Crumb("Members", f"/console/organizations/{org.id}/members"), Crumb("Invite")
    )
    return page(request, "Invite someone", body, crumbs, status=status)


@router.get("/console/organizations/{organization_id}/invitations/new")
async def console_new_invitation(request: Request, db: DB, scoped: MemberCreate) -> Response:
    """The invitation form: email, organization role, workspace role and team."""
    return await _invite_page(request, db, scoped)


Extras = tuple[uuid.UUID | None, uuid.UUID | None, uuid.UUID | None]


def _extras(form: Form) -> Extras:
    """The optional workspace, workspace role and team of the form (errors noted on it)."""
    ids = (
        forms.optional_id(form, "workspace_id"),
        forms.optional_id(form, "workspace_role_id"),
        forms.optional_id(form, "team_id"),
    )
    if (ids[0] is None) != (ids[1] is None) and not form.errors:
        form.errors["workspace_role_id"] = "Choose both a workspace and a role in it, or neither."
    return ids


async def _carry(db: DB, scoped: Scoped[Organization], inv_id: uuid.UUID, extras: Extras) -> None:
    """What the invitation carries besides its organization role, through the API's
    services (``roles.assign``, ``teams.add_member``): each checks the inviter may grant it."""
    access, org = scoped.access, scoped.obj
    ws_id, ws_role, team_id = extras
    subject = roles.Subject(invitation_id=inv_id)
    if ws_id is not None and ws_role is not None:
        named = await roles.named_role(db, access, ws_role)
        scope = await roles.resolve_scope(db, access, named, subject, org.id, ws_id, None)
        await roles.assign(db, access, named.role, scope, subject)
    if team_id is not None:
        team = await teams_repo.get(db, team_id)
        if team is None or team.organization_id != org.id:
            raise NotFound("No such team in this organization")
        await teams.add_member(db, access, team, None, inv_id)


async def _members_page(
    request: Request, db: DB, scoped: Scoped[Organization], offset: int = 0, **shown: Unpack[Shown]
) -> Response:
    org, access = scoped.obj, scoped.access
    listed = await orgs.members(db, org, params(offset))
    items: list[Member] = listed.items
    if items:
        listing = widgets.table(
            "Members, teams and pending invitations",
            ("Name", "Type", "Email", "Organization roles", "Actions"),
            (_row(request, access, org, m) for m in items),
            after=pager(request, f"/console/organizations/{org.id}/members", offset, listed),
            caption_shown=True,
        )
    else:
        listing = widgets.empty("Nobody here yet: invite someone below.")
    errors = widgets.form_errors(shown.get("form"), shown.get("problem"))
    parts = [errors, listing, _invite_link(request, access, org)]
    return org_section(request, access, org, "Members", parts, shown)


@router.get("/console/organizations/{organization_id}/members")
async def console_members(
    request: Request, db: DB, scoped: MemberRead, offset: Offset = 0, notice: Notice = None
) -> Response:
    """An organization's members with their roles, and an invitation form."""
    return await _members_page(request, db, scoped, offset, notice=NOTICES.of(notice))


@router.post("/console/organizations/{organization_id}/invitations")
async def console_invite(
    request: Request, db: DB, scoped: MemberCreate, settings: AppSettings
) -> Response:
    """Invite someone by email with an organization role, and optionally a workspace role
    and a team, in one transaction; the link to pass on is shown."""
    form = await forms.read(request)
    data = forms.parse(
        form,
        InvitationCreate,
        {"email": form.get("email").strip(), "role_id": forms.optional(form.get("role_id"))},
    )
    extras = _extras(form)
    if data is None or form.errors:
        return await _invite_page(request, db, scoped, form, status=400)
    try:
        async with db.begin_nested():  # all of it or nothing
            inv = await invitations.create(db, scoped.access, scoped.obj, data, settings)
            await _carry(db, scoped, inv.id, extras)
    except ZenproError as exc:
        return await _invite_page(request, db, scoped, form, exc.message, exc.status_code)
    notice = h(
        '<div class="notice ok" role="status"><p>Invitation created for $e. Send them this '
        'link:</p><pre class="secret" tabindex="0">$l</pre></div>',
        e=inv.email,
        l=console_link(settings, inv.id),
    )
    return await _members_page(request, db, scoped, notice=notice)


@router.post("/console/organizations/{organization_id}/members/remove")
async def console_remove_member(request: Request, db: DB, scoped: MemberDelete) -> Response:
    """Remove a user from the organization (not its owner: the API's 409 is shown)."""
    form = await forms.read(request)
    try:
        user_id = uuid.UUID(form.get("user_id"))
    except ValueError:
        return await _members_page(request, db, scoped, problem="No such member.", status=400)
    try:
        async with db.begin_nested():
            await orgs.remove_member(db, scoped.obj, user_id)
    except ZenproError as exc:
        return await _members_page(request, db, scoped, **refused(exc))
    target = f"/console/organizations/{scoped.obj.id}/members?notice=removed"
    return RedirectResponse(url(request, target), status_code=303)


@router.post("/console/organizations/{organization_id}/invitations/{invitation_id}/delete")
async def console_revoke_invitation(
    request: Request, db: DB, scoped: MemberDelete, invitation_id: uuid.UUID
) -> Response:
    """Revoke a pending invitation."""
    await forms.read(request)
    try:
        async with db.begin_nested():
            await invitations.delete(db, scoped.obj, invitation_id)
    except NotFound as exc:
        return await _members_page(request, db, scoped, problem=exc.message, status=404)
    target = f"/console/organizations/{scoped.obj.id}/members?notice=revoked"
    return RedirectResponse(url(request, target), status_code=303)


@router.get("/console/organizations/{organization_id}/members/{user_id}")
async def console_member(
    request: Request, db: DB, scoped: MemberRead, user_id: uuid.UUID, notice: Notice = None
) -> Response:
    """One user's or service account's roles in the organization, at every level, with
    Revoke and "Assign a role" for who may manage them; removing them."""
    org, access = scoped.obj, scoped.access
    user = await orgs.member_user(db, org, user_id)
    if user is None:
        raise NotFound(f"User {user_id} is not a member of this organization")
    held = await assignments.held_in(db, org.id, user_id=user.id)
    subject = f"user:{user.id}"
    parts = [
        h(
            '<p class="lead">$k$e</p>',
            k="A service account. " if user.is_service_account else "",
            e=user.email or "",
        ),
        h('<h2 id="m-roles">Roles</h2>'),
        assignments.held_table(request, access, org, held, subject),
    ]
    if assignments.may_assign_here(access, org):
        parts.append(assignments.assign_link(request, org, subject=subject))
    m = Member.of_user(user, [])
    remove = _row_actions(request, access, org, m)
    if remove:
        parts.append(
            h(
                '<section aria-labelledby="m-del" class="danger-zone"><h2 id="m-del">Remove'
                "</h2><p>Their roles, teams and shares in this organization go.</p>$b</section>",
                b=remove,
            )
        )
    crumbs = org_crumbs(
        org, Crumb("Members", f"/console/organizations/{org.id}/members"), Crumb(user.username)
    )
    return page(request, user.username, join(parts), crumbs, notice=NOTICES.of(notice))
