"""Teams: an organization's teams (all of them for roles that read teams, else one's own,
as in the API), create; a team's members (add a member of the organization, remove),
rename and delete. Guards are the API's (``teams.deps``; ``organizations.deps`` for
creating, which the service checks again)."""

from __future__ import annotations

import uuid
from typing import Unpack

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from zenpro.authz.access import Access
from zenpro.authz.guards import Scoped
from zenpro.console import assignments, forms, guards, widgets
from zenpro.console.forms import Form
from zenpro.console.html import Markup, h, join
from zenpro.console.layout import (
    Crumb,
    Notices,
    Shown,
    console_router,
    page,
    refused,
    shown_page,
    url,
)
from zenpro.console.organizations import org_crumbs, org_section
from zenpro.console.paging import Notice, Offset, pager, params
from zenpro.deps import DB
from zenpro.errors import Forbidden, ZenproError
from zenpro.kit.pagination import fetch_page
from zenpro.models import Organization, Team
from zenpro.organizations import repository as org_repo
from zenpro.organizations import service as orgs
from zenpro.organizations.deps import OrgRead
from zenpro.teams import repository as teams_repo
from zenpro.teams import service as teams
from zenpro.teams.deps import TeamDelete, TeamRead, TeamUpdate
from zenpro.teams.schemas import TeamCreate, TeamMemberRead
from zenpro.teams.schemas import TeamUpdate as TeamChanges

router = console_router()
NOTICES = Notices(
    {
        "created": "Team created.",
        "saved": "Team saved.",
        "added": "Member added: they now hold what the team holds.",
        "removed": "Member removed from the team.",
        "deleted": "Team deleted.",
        "assigned": "Role assigned: every member of the team holds it.",
        "unassigned": "Assignment revoked.",
    }
)


def _team_fields(form: Form | None, team: Team | None) -> Markup:
    return join(
        [
            widgets.text_field(
                form, "name", "Team name", value=team.name if team else None, required=True
            ),
            widgets.textarea(
                form, "description", "Description", value=team.description if team else None
            ),
        ]
    )


async def _list_page(
    request: Request, db: DB, scoped: Scoped[Organization], offset: int = 0, **shown: Unpack[Shown]
) -> Response:
    org, access = scoped.obj, scoped.access
    form = shown.get("form")
    sees_all = access.grants.org_allows(org.id, "team", "read")
    stmt = teams_repo.list_stmt(org.id, None if sees_all else access.user_id)
    listed = await fetch_page(db, stmt, params(offset), Team.name, Team.id)
    read = await teams.to_read(db, listed.items)
    if read:
        rows = (
            widgets.row(
                widgets.link(request, f"/console/teams/{t.id}", t.name),
                {"Members": t.member_count, "Description": t.description},
            )
            for t in read
        )
        listing = widgets.table(
            "Teams",
            ("Team", "Members", "Description"),
            rows,
            after=pager(request, f"/console/organizations/{org.id}/teams", offset, listed),
        )
    else:
        listing = widgets.empty("No teams here yet." if sees_all else "You are in no team here.")
    create = Markup("")
    if access.grants.org_allows(org.id, "team", "create"):
        create = h(
            '<section aria-labelledby="t-new"><h2 id="t-new">New team</h2>$e$f</section>',
            e=widgets.form_errors(form, shown.get("problem")),
            f=widgets.post_form(
                request,
                f"/console/organizations/{org.id}/teams",
                _team_fields(form, None),
                "Create team",
            ),
        )
    return org_section(request, access, org, "Teams", [listing, create], shown)


@router.get("/console/organizations/{organization_id}/teams")
async def console_teams(
    request: Request, db: DB, scoped: OrgRead, offset: Offset = 0, notice: Notice = None
) -> Response:
    """An organization's teams (those the caller may see) and the form to create one."""
    return await _list_page(request, db, scoped, offset, notice=NOTICES.of(notice))


@router.post("/console/organizations/{organization_id}/teams")
async def console_create_team(request: Request, db: DB, scoped: guards.TeamCreate) -> Response:
    """Create a team in the organization."""
    form = await forms.read(request)
    data = forms.parse(
        form, TeamCreate, {**forms.name_and_description(form), "organization_id": scoped.obj.id}
    )
    if data is None:
        return await _list_page(request, db, scoped, form=form, status=400)
    try:
        async with db.begin_nested():
            team = await teams.create(db, scoped.access, data)
    except ZenproError as exc:
        return await _list_page(request, db, scoped, form=form, **refused(exc))
    return RedirectResponse(
        url(request, f"/console/teams/{team.id}?notice=created"), status_code=303
    )


async def _team_page(
    request: Request, db: DB, scoped: Scoped[Team], offset: int = 0, **shown: Unpack[Shown]
) -> Response:
    team, access = scoped.obj, scoped.access
    form = shown.get("form")
    org = await org_repo.get(db, team.organization_id)
    assert org is not None  # a team's organization outlives it (ON DELETE CASCADE)
    may_update = access.grants.org_allows(org.id, "team", "update")
    listed = await teams.members(db, team, params(offset))
    members: list[TeamMemberRead] = listed.items
    base = f"/console/teams/{team.id}"
    rows = []
    for m in members:
        who = m.user.username if m.user else f"{m.email} (invited)"
        hidden = {"user_id": str(m.user.id)} if m.user else {"invitation_id": str(m.invitation_id)}
        remove = (
            widgets.remove_button(
                request, f"{base}/members/remove", "Remove", f"Remove {who} from the team", **hidden
            )
            if may_update
            else Markup("")
        )
        rows.append(widgets.row(who, {"Email": m.email, "Since": widgets.when(m.created)}, remove))
    listing = (
        widgets.table(
            "Members of the team",
            ("Member", "Email", "Since", "Actions"),
            rows,
            after=pager(request, base, offset, listed),
        )
        if rows
        else widgets.empty("Nobody in this team yet.")
    )
    parts = [widgets.form_errors(form, shown.get("problem")), listing]
    if _reads_roles(access, org):
        parts.append(
            h(
                "<p>$l</p>",
                l=widgets.link(request, f"{base}/roles", "The team's roles", "button"),
            )
        )
    if may_update:
        people = await orgs.member_users(db, org)
        options = [(str(u.id), u.username) for u in people]
        add = widgets.select(form, "user_id", "Organization member", options)
        parts.append(
            h(
                '<section aria-labelledby="t-add"><h2 id="t-add">Add a member</h2>'
                "<p>They gain everything the team holds; you may add only people who hold no "
                "more than you do.</p>$f</section>",
                f=widgets.post_form(request, f"{base}/members/add", add, "Add to team"),
            )
        )
        parts.append(
            h(
                '<section aria-labelledby="t-edit"><h2 id="t-edit">Rename</h2>$f</section>',
                f=widgets.post_form(
                    request, f"{base}/settings", _team_fields(form, team), "Save team"
                ),
            )
        )
    if access.grants.org_allows(org.id, "team", "delete"):
        parts.append(
            h(
                '<section aria-labelledby="t-del" class="danger-zone"><h2 id="t-del">Delete</h2>'
                "<p>Its memberships and role assignments go with it.</p>$b</section>",
                b=widgets.action_button(request, f"{base}/delete", "Delete team", danger=True),
            )
        )
    crumbs = org_crumbs(
        org, Crumb("Teams", f"/console/organizations/{org.id}/teams"), Crumb(team.name)
    )
    return shown_page(request, f"Team {team.name}", join(parts), crumbs, shown)


def _reads_roles(access: Access, org: Organization) -> bool:
    """Who may see a team's roles: who may read members (as the API's assignment list),
    and who may assign roles here."""
    return assignments.may_assign_here(access, org) or access.grants.org_allows(
        org.id, "member", "read"
    )


@router.get("/console/teams/{team_id}/roles")
async def console_team_roles(
    request: Request, db: DB, scoped: TeamRead, notice: Notice = None
) -> Response:
    """What the team holds at every level, with Revoke and "Assign a role" for who may
    manage them (every member of the team holds what it holds)."""
    team, access = scoped.obj, scoped.access
    org = await org_repo.get(db, team.organization_id)
    assert org is not None  # a team's organization outlives it (ON DELETE CASCADE)
    if not _reads_roles(access, org):
        raise Forbidden("You may not read the roles of this organization's members")
    held = await assignments.held_in(db, org.id, team_id=team.id)
    subject = f"team:{team.id}"
    may_assign = assignments.may_assign_here(access, org)
    body = join(
        [
            h("<p>Every member of the team holds what the team holds.</p>"),
            assignments.held_table(request, access, org, held, subject),
            assignments.assign_link(request, org, subject=subject) if may_assign else Markup(""),
        ]
    )
    crumbs = org_crumbs(
        org,
        Crumb("Teams", f"/console/organizations/{org.id}/teams"),
        Crumb(team.name, f"/console/teams/{team.id}"),
        Crumb("Roles"),
    )
    return page(request, f"Roles of the team {team.name}", body, crumbs, notice=NOTICES.of(notice))


@router.get("/console/teams/{team_id}")
async def console_team(
    request: Request, db: DB, scoped: TeamRead, offset: Offset = 0, notice: Notice = None
) -> Response:
    """A team: its members, and (for who may) adding, removing, renaming, deleting."""
    return await _team_page(request, db, scoped, offset, notice=NOTICES.of(notice))


async def _done(request: Request, team: Team, notice: str) -> Response:
    return RedirectResponse(
        url(request, f"/console/teams/{team.id}?notice={notice}"), status_code=303
    )


@router.post("/console/teams/{team_id}/settings")
async def console_update_team(request: Request, db: DB, scoped: TeamUpdate) -> Response:
    """Rename a team or change its description."""
    form = await forms.read(request)
    data = forms.parse(form, TeamChanges, forms.name_and_description(form))
    if data is None:
        return await _team_page(request, db, scoped, form=form, status=400)
    try:
        async with db.begin_nested():
            await teams.update(db, scoped.obj, data)
    except ZenproError as exc:
        return await _team_page(request, db, scoped, form=form, **refused(exc))
    return await _done(request, scoped.obj, "saved")


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


@router.post("/console/teams/{team_id}/members/add")
async def console_add_team_member(request: Request, db: DB, scoped: TeamUpdate) -> Response:
    """Add a member of the organization to the team (no more than the adder holds)."""
    form = await forms.read(request)
    user_id = _uuid(form.get("user_id"))
    if user_id is None:
        return await _team_page(
            request, db, scoped, form=form, problem="Choose a member.", status=400
        )
    try:
        async with db.begin_nested():
            await teams.add_member(db, scoped.access, scoped.obj, user_id, None)
    except ZenproError as exc:
        return await _team_page(request, db, scoped, form=form, **refused(exc))
    return await _done(request, scoped.obj, "added")


@router.post("/console/teams/{team_id}/members/remove")
async def console_remove_team_member(request: Request, db: DB, scoped: TeamUpdate) -> Response:
    """Remove a user or a pending invitation from the team."""
    form = await forms.read(request)
    user_id, inv_id = _uuid(form.get("user_id")), _uuid(form.get("invitation_id"))
    if (user_id is None) == (inv_id is None):
        return await _team_page(request, db, scoped, problem="Choose one member.", status=400)
    try:
        async with db.begin_nested():
            await teams.remove_member(db, scoped.obj, user_id, inv_id)
    except ZenproError as exc:
        return await _team_page(request, db, scoped, **refused(exc))
    return await _done(request, scoped.obj, "removed")


@router.post("/console/teams/{team_id}/delete")
async def console_delete_team(request: Request, db: DB, scoped: TeamDelete) -> Response:
    """Delete a team (its memberships and role assignments go with it)."""
    await forms.read(request)
    org_id = scoped.obj.organization_id
    await teams.delete(db, scoped.obj)
    target = f"/console/organizations/{org_id}/teams?notice=deleted"
    return RedirectResponse(url(request, target), status_code=303)
