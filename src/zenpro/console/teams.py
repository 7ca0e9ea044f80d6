"""Teams: an organization's teams (all of them for roles that read teams, else one's own,
as in the API), create; a team's members (add a member of the organization, remove),
rename and delete. Guards are the API's (``teams.deps``; ``organizations.deps`` for
creating, which the service checks again)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from zenpro.authz.guards import Scoped
from zenpro.console import forms
from zenpro.console.forms import Form
from zenpro.console.html import Markup, h, join
from zenpro.console.layout import Crumb, console_router, flash, page, url
from zenpro.console.organizations import org_crumbs, org_tabs
from zenpro.console.paging import Notice, Offset, pager, params
from zenpro.console.widgets import (
    action_button,
    empty,
    form_errors,
    link,
    post_form,
    select,
    text_field,
    textarea,
    when,
)
from zenpro.deps import DB
from zenpro.errors import ZenproError
from zenpro.kit.pagination import fetch_page
from zenpro.models import Organization, Team
from zenpro.organizations import repository as org_repo
from zenpro.organizations import service as orgs
from zenpro.organizations.deps import OrgRead, org_guard
from zenpro.teams import repository as teams_repo
from zenpro.teams import service as teams
from zenpro.teams.deps import TeamDelete, TeamRead, TeamUpdate
from zenpro.teams.schemas import TeamCreate
from zenpro.teams.schemas import TeamUpdate as TeamChanges

router = console_router()
TeamCreateGuard = Annotated[Scoped[Organization], Depends(org_guard("team", "create"))]
NOTICES = {
    "created": "Team created.",
    "saved": "Team saved.",
    "added": "Member added: they now hold what the team holds.",
    "removed": "Member removed from the team.",
    "deleted": "Team deleted.",
}


def _team_fields(form: Form | None, team: Team | None) -> Markup:
    return join(
        [
            text_field(form, "name", "Team name", value=team.name if team else None, required=True),
            textarea(form, "description", "Description", value=team.description if team else None),
        ]
    )


def _values(form: Form) -> dict[str, Any]:
    return {
        "name": form.get("name").strip(),
        "description": forms.optional(form.get("description")),
    }


async def _list_page(
    request: Request,
    db: DB,
    scoped: Scoped[Organization],
    offset: int = 0,
    *,
    form: Form | None = None,
    problem: str | None = None,
    notice: Markup | None = None,
    status: int = 200,
) -> Response:
    org, access = scoped.obj, scoped.access
    sees_all = access.grants.org_allows(org.id, "team", "read")
    stmt = teams_repo.list_stmt(org.id, None if sees_all else access.user_id)
    items, total = await fetch_page(db, stmt, params(offset), Team.name, Team.id)
    read = await teams.to_read(db, items)
    if read:
        rows = join(
            h(
                '<tr><th scope="row">$l</th><td data-label="Members">$n</td>'
                '<td data-label="Description">$d</td></tr>',
                l=link(request, f"/console/teams/{t.id}", t.name),
                n=t.member_count,
                d=t.description or "",
            )
            for t in read
        )
        listing = h(
            '<table><caption class="vh">Teams</caption><thead><tr><th scope="col">Team</th>'
            '<th scope="col">Members</th><th scope="col">Description</th></tr></thead>'
            "<tbody>$r</tbody></table>$p",
            r=rows,
            p=pager(request, f"/console/organizations/{org.id}/teams", offset, total),
        )
    else:
        listing = empty("No teams here yet." if sees_all else "You are in no team here.")
    create = Markup("")
    if access.grants.org_allows(org.id, "team", "create"):
        create = h(
            '<section aria-labelledby="t-new"><h2 id="t-new">New team</h2>$e$f</section>',
            e=form_errors(form, problem),
            f=post_form(
                request,
                f"/console/organizations/{org.id}/teams",
                _team_fields(form, None),
                "Create team",
            ),
        )
    body = join([org_tabs(request, access, org, "Teams"), listing, create])
    crumbs = org_crumbs(org, Crumb("Teams"))
    return page(request, f"Teams of {org.name}", body, crumbs, notice=notice, status=status)


@router.get("/console/organizations/{organization_id}/teams")
async def console_teams(
    request: Request, db: DB, scoped: OrgRead, offset: Offset = 0, notice: Notice = None
) -> Response:
    """An organization's teams (those the caller may see) and the form to create one."""
    shown = flash(NOTICES[notice]) if notice in NOTICES else None
    return await _list_page(request, db, scoped, offset, notice=shown)


@router.post("/console/organizations/{organization_id}/teams")
async def console_create_team(request: Request, db: DB, scoped: TeamCreateGuard) -> Response:
    """Create a team in the organization."""
    form = await forms.read(request)
    data = forms.parse(form, TeamCreate, {**_values(form), "organization_id": scoped.obj.id})
    if data is None:
        return await _list_page(request, db, scoped, form=form, status=400)
    try:
        async with db.begin_nested():
            team = await teams.create(db, scoped.access, data)
    except ZenproError as exc:
        return await _list_page(
            request, db, scoped, form=form, problem=exc.message, status=exc.status_code
        )
    return RedirectResponse(
        url(request, f"/console/teams/{team.id}?notice=created"), status_code=303
    )


async def _team_page(
    request: Request,
    db: DB,
    scoped: Scoped[Team],
    *,
    form: Form | None = None,
    problem: str | None = None,
    notice: Markup | None = None,
    status: int = 200,
    offset: int = 0,
) -> Response:
    team, access = scoped.obj, scoped.access
    org = await org_repo.get(db, team.organization_id)
    assert org is not None  # a team's organization outlives it (ON DELETE CASCADE)
    may_update = access.grants.org_allows(org.id, "team", "update")
    members, total = await teams.members(db, team, params(offset))
    base = f"/console/teams/{team.id}"
    rows = []
    for m in members:
        who = m.user.username if m.user else f"{m.email} (invited)"
        hidden = {"user_id": str(m.user.id)} if m.user else {"invitation_id": str(m.invitation_id)}
        remove = (
            action_button(
                request,
                f"{base}/members/remove",
                "Remove",
                danger=True,
                hidden=hidden,
                describe=f"Remove {who} from the team",
            )
            if may_update
            else Markup("")
        )
        rows.append(
            h(
                '<tr><th scope="row">$w</th><td data-label="Email">$e</td>'
                '<td data-label="Since">$s</td><td>$r</td></tr>',
                w=who,
                e=m.email or "",
                s=when(m.created),
                r=remove,
            )
        )
    listing = (
        h(
            '<table><caption class="vh">Members of the team</caption><thead><tr>'
            '<th scope="col">Member</th><th scope="col">Email</th><th scope="col">Since</th>'
            '<th scope="col">Actions</th></tr></thead><tbody>$r</tbody></table>$p',
            r=join(rows),
            p=pager(request, base, offset, total),
        )
        if rows
        else empty("Nobody in this team yet.")
    )
    parts = [form_errors(form, problem), listing]
    if may_update:
        people = await orgs.member_users(db, org)
        options = [(str(u.id), u.username) for u in people]
        add = select(form, "user_id", "Organization member", options)
        parts.append(
            h(
                '<section aria-labelledby="t-add"><h2 id="t-add">Add a member</h2>'
                "<p>They gain everything the team holds; you may add only people who hold no "
                "more than you do.</p>$f</section>",
                f=post_form(request, f"{base}/members/add", add, "Add to team"),
            )
        )
        parts.append(
            h(
                '<section aria-labelledby="t-edit"><h2 id="t-edit">Rename</h2>$f</section>',
                f=post_form(request, f"{base}/settings", _team_fields(form, team), "Save team"),
            )
        )
    if access.grants.org_allows(org.id, "team", "delete"):
        parts.append(
            h(
                '<section aria-labelledby="t-del" class="danger-zone"><h2 id="t-del">Delete</h2>'
                "<p>Its memberships and role assignments go with it.</p>$b</section>",
                b=action_button(request, f"{base}/delete", "Delete team", danger=True),
            )
        )
    crumbs = org_crumbs(
        org, Crumb("Teams", f"/console/organizations/{org.id}/teams"), Crumb(team.name)
    )
    return page(request, f"Team {team.name}", join(parts), crumbs, notice=notice, status=status)


@router.get("/console/teams/{team_id}")
async def console_team(
    request: Request, db: DB, scoped: TeamRead, offset: Offset = 0, notice: Notice = None
) -> Response:
    """A team: its members, and (for who may) adding, removing, renaming, deleting."""
    shown = flash(NOTICES[notice]) if notice in NOTICES else None
    return await _team_page(request, db, scoped, notice=shown, offset=offset)


async def _done(request: Request, team: Team, notice: str) -> Response:
    return RedirectResponse(
        url(request, f"/console/teams/{team.id}?notice={notice}"), status_code=303
    )


@router.post("/console/teams/{team_id}/settings")
async def console_update_team(request: Request, db: DB, scoped: TeamUpdate) -> Response:
    """Rename a team or change its description."""
    form = await forms.read(request)
    data = forms.parse(form, TeamChanges, _values(form))
    if data is None:
        return await _team_page(request, db, scoped, form=form, status=400)
    try:
        async with db.begin_nested():
            await teams.update(db, scoped.obj, data)
    except ZenproError as exc:
        return await _team_page(
            request, db, scoped, form=form, problem=exc.message, status=exc.status_code
        )
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
        return await _team_page(
            request, db, scoped, form=form, problem=exc.message, status=exc.status_code
        )
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
        return await _team_page(request, db, scoped, problem=exc.message, status=exc.status_code)
    return await _done(request, scoped.obj, "removed")


@router.post("/console/teams/{team_id}/delete")
async def console_delete_team(request: Request, db: DB, scoped: TeamDelete) -> Response:
    """Delete a team (its memberships and role assignments go with it)."""
    await forms.read(request)
    org_id = scoped.obj.organization_id
    await teams.delete(db, scoped.obj)
    target = f"/console/organizations/{org_id}/teams?notice=deleted"
    return RedirectResponse(url(request, target), status_code=303)
