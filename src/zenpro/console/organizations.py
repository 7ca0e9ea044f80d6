"""Organization pages: create, the overview (its workspaces at a glance), settings and
deletion. Guards are the API's (``organizations.deps``); what a page offers follows the
caller's grants, and every post is checked by the same guard again."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Select, func
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.authz.access import Access
from zenpro.authz.guards import Authenticated
from zenpro.console import charts, forms, layout, widgets
from zenpro.console.forms import Form
from zenpro.console.html import Markup, h, join
from zenpro.console.layout import (
    Crumb,
    Notices,
    Shown,
    console_router,
    page,
    shown_page,
    url,
)
from zenpro.console.paging import Notice, Offset, pager, params
from zenpro.deps import DB, AppSettings
from zenpro.errors import Conflict, ZenproError
from zenpro.kit.pagination import Slice, fetch_page
from zenpro.models import Organization, Workspace
from zenpro.organizations import service as orgs
from zenpro.organizations.deps import OrgDelete, OrgRead, OrgUpdate
from zenpro.organizations.schemas import OrganizationCreate, OrganizationUpdate
from zenpro.workspaces import repository as ws_repo
from zenpro.workspaces import service as workspaces

router = console_router()
NOTICES = Notices(
    {
        "created": "Organization created. You are its owner and Organization Admin.",
        "saved": "Settings saved.",
        "ws-deleted": "Workspace deleted.",
        "joined": "Invitation accepted: welcome to the organization.",
    }
)


def org_label(org: Organization) -> str:
    """How pages name an organization: its display name, else its name (titles and
    breadcrumbs alike)."""
    return org.display_name or org.name


def org_crumbs(org: Organization, *more: Crumb) -> list[Crumb]:
    return [Crumb(org_label(org), f"/console/organizations/{org.id}"), *more]


def logo(org: Organization, alt: str = "") -> Markup:
    """The organization's logo, where the page's CSP can allow its origin (``alt``
    empty: beside the name, it says nothing more)."""
    if layout.image_origin(org.logo_url) is None:
        return Markup("")
    return h('<img class="logo" src="$u" alt="$a" width="48" height="48">', u=org.logo_url, a=alt)


def org_tabs(request: Request, access: Access, org: Organization, current: str) -> Markup:
    """The organization's sections the caller may open."""
    allows = access.grants.org_allows
    base = f"/console/organizations/{org.id}"
    tabs = [
        ("Workspaces", base, True),
        ("Members", f"{base}/members", allows(org.id, "member", "read")),
        ("Teams", f"{base}/teams", True),
        ("Service accounts", f"{base}/service_accounts", allows(org.id, "service_account", "read")),
        ("Roles", f"{base}/roles", True),
        ("Audit trail", f"{base}/audit", allows(org.id, "member", "read")),
        ("Settings", f"{base}/settings", allows(org.id, "organization", "update")),
    ]
    items = [
        h(
            '<li><a href="$u"$c>$l</a></li>',
            u=url(request, path),
            l=label,
            c=Markup(' aria-current="page"') if label == current else Markup(""),
        )
        for label, path, shown in tabs
        if shown
    ]
    return h('<nav class="tabs" aria-label="Organization"><ul>$i</ul></nav>', i=join(items))


def org_section(
    request: Request,
    access: Access,
    org: Organization,
    tab: str,
    parts: Sequence[Markup],
    shown: Shown | None = None,
    *,
    title: str | None = None,
) -> HTMLResponse:
    """A page of one of the organization's tabs: the tabs, then ``parts``; titled
    "<tab> of <organization>" unless ``title`` says otherwise."""
    body = join([org_tabs(request, access, org, tab), *parts])
    crumbs = org_crumbs(org, Crumb(tab))
    return shown_page(request, title or f"{tab} of {org_label(org)}", body, crumbs, shown or {})


def _org_fields(form: Form | None, org: Organization | None) -> Markup:
    return join(
        [
            widgets.text_field(
                form,
                "name",
                "Name",
                value=org.name if org else None,
                required=True,
                hint="Unique on this server; letters, digits, spaces, . _ -",
            ),
            widgets.text_field(
                form, "display_name", "Display name", value=org.display_name if org else None
            ),
            widgets.textarea(
                form, "description", "Description", value=org.description if org else None
            ),
            widgets.text_field(
                form,
                "logo_url",
                "Logo address",
                value=org.logo_url if org else None,
                kind="url",
                hint="An http:// or https:// address of a square image; empty for none.",
            ),
        ]
    )


def _org_values(form: Form) -> dict[str, str | None]:
    return {
        "name": form.get("name").strip(),
        "display_name": forms.optional(form.get("display_name")),
        "description": forms.optional(form.get("description")),
        "logo_url": forms.optional(form.get("logo_url")),
    }


def _new_page(
    request: Request, form: Form | None, problem: str | None, status: int = 200
) -> Response:
    body = h(
        "$errors$form",
        errors=widgets.form_errors(form, problem),
        form=widgets.post_form(
            request, "/console/organizations", _org_fields(form, None), "Create organization"
        ),
    )
    return page(request, "Create an organization", body, [Crumb("New organization")], status=status)


@router.get("/console/organizations/new")
async def console_new_organization(request: Request, access: Authenticated) -> Response:
    """The form to create an organization."""
    return _new_page(request, None, None)


@router.post("/console/organizations")
async def console_create_organization(
    request: Request, db: DB, access: Authenticated, settings: AppSettings
) -> Response:
    """Create an organization (the caller becomes its owner and Organization Admin)."""
    form = await forms.read(request)
    data = forms.parse(form, OrganizationCreate, _org_values(form))
    if data is None:
        return _new_page(request, form, None, 400)
    try:
        async with db.begin_nested():
            org = await orgs.create(db, access, data, settings)
    except ZenproError as exc:
        return _new_page(request, form, exc.message, exc.status_code)
    target = url(request, f"/console/organizations/{org.id}?notice=created")
    return RedirectResponse(target, status_code=303)


STATUS_TEXT = {
    "pending": "Pending",
    "available": "Available",
    "failed": "Failed",
    "deactivated": "Deactivated",
    "deleted": "Deleted",
    "not_initialized": "Not initialized",
}


def status_badge(ws: Workspace) -> Markup:
    return h(
        '<span class="badge s-$s">$t</span>', s=ws.status, t=STATUS_TEXT.get(ws.status, ws.status)
    )


def _ws_row(request: Request, ws: Workspace) -> Markup:
    kind = "Managed" if ws.is_managed else "Enrolled"
    cells = {
        "Status": status_badge(ws),
        "Reason": ws.state_reason or "—",
        "Status since": widgets.when(ws.status_updated),
        "Kind": kind,
    }
    return widgets.row(widgets.link(request, f"/console/workspaces/{ws.id}", ws.name), cells)


def _visible(access: Access, org: Organization) -> Select[Any]:
    """The organization's workspaces the caller may see (the API's listing rule)."""
    filters = ws_repo.Filters(organization_id=org.id)
    return workspaces.list_stmt(access, filters, member_only=False)


async def _workspaces(
    db: AsyncSession, access: Access, org: Organization, offset: int
) -> Slice[Workspace]:
    return await fetch_page(db, _visible(access, org), params(offset), Workspace.name, Workspace.id)


async def _by_status(
    db: AsyncSession, access: Access, org: Organization
) -> list[tuple[str, str, int]]:
    """How many of the visible workspaces are in each status (one statement)."""
    stmt = (
        _visible(access, org)
        .order_by(None)
        .with_only_columns(Workspace.status, func.count())
        .group_by(Workspace.status)
    )
    counts = {status: int(n) for status, n in (await db.execute(stmt)).all()}
    return [(k, STATUS_TEXT[k], counts[k]) for k in STATUS_TEXT if counts.get(k)]


def _usage(items: list[Workspace]) -> list[tuple[str, int]]:
    """The usage counters the listed workspaces' servers report, summed by feature."""
    total: dict[str, int] = {}
    for ws in items:
        for feature, n in (ws.usage_counts or {}).items():
            total[feature] = total.get(feature, 0) + int(n)
    return sorted(total.items())


def _overview(by_status: list[tuple[str, str, int]], items: list[Workspace], paged: bool) -> Markup:
    if not by_status:
        return Markup("")
    statuses = [(label, n) for _, label, n in by_status]
    counted = sum(n for _, n in statuses)
    status_chart = charts.bars(
        "c-status",
        "Workspaces by status",
        f"{counted} workspace(s): "
        + ", ".join(f"{n} {label.lower()}" for label, n in statuses)
        + ".",
        statuses,
        ("Status", "Workspaces"),
        [f"s-{k}" for k, _, _ in by_status],
    )
    usage = _usage(items)
    where = "the workspaces on this page" if paged else "these workspaces"
    usage_chart = (
        charts.bars(
            "c-usage",
            f"Usage reported by {where}",
            "Totals by feature: " + ", ".join(f"{k} {n}" for k, n in usage) + ".",
            usage,
            ("Feature", "Count"),
        )
        if usage
        else h('<p class="hint">No workspace server has reported usage yet.</p>')
    )
    return h(
        '<section class="overview" aria-labelledby="o-h"><h2 id="o-h">At a glance</h2>'
        '<div class="charts">$a$b</div></section>',
        a=status_chart,
        b=usage_chart,
    )


@router.get("/console/organizations/{organization_id}")
async def console_organization(
    request: Request, db: DB, scoped: OrgRead, offset: Offset = 0, notice: Notice = None
) -> Response:
    """An organization: its workspaces with their status at a glance."""
    org, access = scoped.obj, scoped.access
    listed = await _workspaces(db, access, org, offset)
    items: list[Workspace] = listed.items
    paged = listed.next is not None or offset > 0
    overview = _overview(await _by_status(db, access, org), items, paged)
    may_create = access.grants.org_allows(org.id, "workspace", "create")
    actions = (
        widgets.link(
            request, f"/console/organizations/{org.id}/workspaces/new", "New workspace", "button"
        )
        if may_create
        else Markup("")
    )
    if items:
        table = h(
            '<table><caption class="vh">Workspaces</caption><thead><tr><th scope="col">Name</th>'
            '<th scope="col">Status</th><th scope="col">Reason</th>'
            '<th scope="col">Status since</th><th scope="col">Kind</th></tr></thead>'
            "<tbody>$rows</tbody></table>$pager",
            rows=join(_ws_row(request, w) for w in items),
            pager=pager(request, f"/console/organizations/{org.id}", offset, listed),
        )
    elif may_create:
        table = widgets.empty(
            "No workspaces yet. Create a managed one, or enroll a ZenML server you run."
        )
    else:
        table = widgets.empty(
            "There is no workspace here that you may see. "
            "Ask an administrator for a workspace role."
        )
    about = h('<p class="lead">$d</p>', d=org.description) if org.description else Markup("")
    body = h(
        '$tabs$about$overview<div class="toolbar"><h2>Workspaces</h2>$actions</div>$table',
        tabs=org_tabs(request, access, org, "Workspaces"),
        about=about,
        overview=overview,
        actions=actions,
        table=table,
    )
    shown = NOTICES.of(notice)
    heading = h('<span class="org-head">$l$t</span>', l=logo(org), t=org_label(org))
    return page(
        request,
        org_label(org),
        body,
        org_crumbs(org),
        notice=shown,
        heading=heading,
        images=layout.image_origin(org.logo_url),
    )


def _settings_page(
    request: Request,
    scoped_org: Organization,
    access: Access,
    form: Form | None = None,
    problem: str | None = None,
    delete_problem: str | None = None,
    status: int = 200,
    notice: Markup | None = None,
) -> Response:
    org = scoped_org
    edit = widgets.post_form(
        request,
        f"/console/organizations/{org.id}/settings",
        _org_fields(form, org),
        "Save settings",
    )
    section = h(
        '<section aria-labelledby="s-edit"><h2 id="s-edit">Details</h2>$e$f</section>',
        e=widgets.form_errors(form, problem),
        f=edit,
    )
    if access.grants.org_allows(org.id, "organization", "delete"):
        section = join([section, _delete_section(request, org, delete_problem)])
    preview = logo(org, f"Logo of {org_label(org)}")
    if preview:
        section = join([h('<p class="logo-preview">Logo now: $i</p>', i=preview), section])
    shown: Shown = {"status": status, "notice": notice, "images": layout.image_origin(org.logo_url)}
    return org_section(request, access, org, "Settings", [section], shown)


def _delete_section(request: Request, org: Organization, problem: str | None) -> Markup:
    force = Markup("")
    explain = Markup("")
    if problem:
        explain = h(
            '<p class="notice error" role="alert">$m</p><p>The organization still has live '
            "workspaces. Delete them first from the Workspaces tab, or tick the box below to "
            "delete the organization together with all its workspaces, members' roles, "
            "teams and invitations. This cannot be undone.</p>",
            m=problem,
        )
        force = Markup(
            '<div class="field check">'
            '<input type="checkbox" id="f-force" name="force" value="true">'
            '<label for="f-force">Also delete its workspaces</label></div>'
        )
    submit = Markup(
        '<div class="actions"><button type="submit" class="danger">Delete organization'
        "</button></div>"
    )
    form = widgets.csrf_form(
        request, f"/console/organizations/{org.id}/delete", "stack", join([force, submit])
    )
    return h(
        '<section aria-labelledby="s-delete" class="danger-zone"><h2 id="s-delete">Delete</h2>'
        "<p>Deleting removes the organization and everything it holds.</p>$x$f</section>",
        x=explain,
        f=form,
    )


@router.get("/console/organizations/{organization_id}/settings")
async def console_organization_settings(request: Request, scoped: OrgUpdate) -> Response:
    """An organization's settings (display name, description) and its deletion."""
    return _settings_page(request, scoped.obj, scoped.access)


@router.post("/console/organizations/{organization_id}/settings")
async def console_update_organization(request: Request, db: DB, scoped: OrgUpdate) -> Response:
    """Save an organization's settings."""
    form = await forms.read(request)
    data = forms.parse(form, OrganizationUpdate, _org_values(form))
    if data is None:
        return _settings_page(request, scoped.obj, scoped.access, form, status=400)
    try:
        async with db.begin_nested():
            org = await orgs.update(db, scoped.obj, data)
    except ZenproError as exc:
        return _settings_page(
            request, scoped.obj, scoped.access, form, exc.message, status=exc.status_code
        )
    return _settings_page(request, org, scoped.access, notice=NOTICES.of("saved"))


@router.post("/console/organizations/{organization_id}/delete")
async def console_delete_organization(request: Request, db: DB, scoped: OrgDelete) -> Response:
    """Delete an organization; while it has live workspaces the API's 409 is explained,
    with the choice to delete them too."""
    form = await forms.read(request)
    force = form.get("force") == "true"
    try:
        async with db.begin_nested():
            await orgs.delete(db, scoped.obj, force)
    except Conflict as exc:
        return _settings_page(
            request, scoped.obj, scoped.access, delete_problem=exc.message, status=409
        )
    return RedirectResponse(url(request, "/console?notice=deleted"), status_code=303)
