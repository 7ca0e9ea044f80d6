"""Workspace pages: create a managed one or enroll an external ZenML server (its key and
settings shown once), a workspace's status and lifecycle (deactivate, reactivate, delete,
a new enrollment key). Guards are the API's (``workspaces.deps``, ``organizations.deps``)."""

from __future__ import annotations

import asyncio
import shlex
from typing import Any, Unpack

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from zenpro.authz.access import Access
from zenpro.authz.guards import Scoped
from zenpro.config import Settings
from zenpro.console import forms, guards, widgets
from zenpro.console.forms import Form
from zenpro.console.handoff import remember_workspace
from zenpro.console.html import Markup, h, join
from zenpro.console.layout import (
    Crumb,
    Notices,
    Shown,
    console_router,
    page,
    refused_notice,
    shown_page,
    url,
)
from zenpro.console.organizations import STATUS_TEXT, org_crumbs, status_badge
from zenpro.console.paging import Notice
from zenpro.console.workspace_view import ProjectQuery, holdings
from zenpro.deps import DB, AppSettings
from zenpro.errors import ZenproError
from zenpro.models import Organization, Workspace
from zenpro.organizations import repository as org_repo
from zenpro.workspaces import service as workspaces
from zenpro.workspaces.deps import WsDelete, WsRead, WsUpdate
from zenpro.workspaces.local import log_tail
from zenpro.workspaces.pro_env import pro_server_env
from zenpro.workspaces.schemas import Status, WorkspaceCreate, WorkspaceUpdate

router = console_router()
NOTICES = Notices(
    {
        "created": "Workspace created. It becomes available once provisioned.",
        "deactivated": "Workspace deactivated: its server can no longer log in or authorize users.",
        "reactivated": "Workspace reactivation requested.",
    }
)
KINDS = (("managed", "Managed: run by zenpro"), ("external", "Enrolled: a ZenML server you run"))


def _kind_choice(form: Form | None) -> Markup:
    chosen = form.get("kind") if form else "managed"
    items = join(
        h(
            '<div><input type="radio" id="k-$v" name="kind" value="$v"$c>'
            ' <label for="k-$v">$l</label></div>',
            v=v,
            l=label,
            c=Markup(" checked") if v == (chosen or "managed") else Markup(""),
        )
        for v, label in KINDS
    )
    return h("<fieldset><legend>Kind</legend>$i</fieldset>", i=items)


def _new_page(
    request: Request, org: Organization, form: Form | None, problem: str | None, status: int = 200
) -> Response:
    fields = join(
        [
            widgets.text_field(
                form,
                "name",
                "Name",
                required=True,
                hint="Lower-case letters, digits and dashes; unique on this server.",
            ),
            widgets.text_field(form, "display_name", "Display name"),
            widgets.textarea(form, "description", "Description"),
            _kind_choice(form),
        ]
    )
    body = join(
        [
            widgets.form_errors(form, problem),
            widgets.post_form(
                request, f"/console/organizations/{org.id}/workspaces", fields, "Create workspace"
            ),
        ]
    )
    crumbs = org_crumbs(org, Crumb("New workspace"))
    return page(request, "New workspace", body, crumbs, status=status)


@router.get("/console/organizations/{organization_id}/workspaces/new")
async def console_new_workspace(request: Request, scoped: guards.WorkspaceCreate) -> Response:
    """The form to create a managed workspace or enroll an external one."""
    return _new_page(request, scoped.obj, None, None)


@router.post("/console/organizations/{organization_id}/workspaces")
async def console_create_workspace(
    request: Request, db: DB, scoped: guards.WorkspaceCreate, settings: AppSettings
) -> Response:
    """Create a workspace; an enrolled one shows its key and settings, once."""
    org = scoped.obj
    form = await forms.read(request)
    values: dict[str, Any] = {
        "name": form.get("name").strip(),
        "display_name": forms.optional(form.get("display_name")),
        "description": forms.optional(form.get("description")),
        "organization_id": org.id,
    }
    enroll = form.get("kind") == "external"
    data = forms.parse(form, WorkspaceCreate, values)
    if data is None:
        return _new_page(request, org, form, None, 400)
    try:
        async with db.begin_nested():
            ws, key = await workspaces.create(db, scoped.access, data, enroll, settings)
    except ZenproError as exc:
        return _new_page(request, org, form, exc.message, exc.status_code)
    if key is not None:
        return _key_page(request, org, ws, key, settings, "Workspace enrolled")
    return RedirectResponse(
        url(request, f"/console/workspaces/{ws.id}?notice=created"), status_code=303
    )


def enrollment_settings(settings: Settings, org: Organization, ws: Workspace, key: str) -> str:
    """The environment of the ZenML server that is this workspace (docs/zenml.md)."""
    values = pro_server_env(
        api_url=settings.base_url,
        # Browser visits to the server and its sign-in entry land on the console
        # (console/handoff.py): <zenpro>/console/workspaces/<name>, …/api/auth/login.
        dashboard_url=f"{settings.base_url}/console",
        client_secret=key,
        organization_id=str(org.id),
        organization_name=org.name,
        workspace_id=str(ws.id),
        workspace_name=ws.name,
    )
    # Quoted for a shell (``env …`` in docs/zenml.md): a name may hold spaces.
    return "\n".join(f"{k}={shlex.quote(v)}" for k, v in values.items())


def _key_page(
    request: Request, org: Organization, ws: Workspace, key: str, settings: Settings, title: str
) -> Response:
    """The key and settings, in this answer only (only the key's hash is stored): the
    page is not cached and the address holds no secret."""
    body = h(
        '<p class="notice ok" role="status">Copy these now: the enrollment key is shown only '
        "on this page and cannot be shown again (a new key can be made later).</p>"
        '<h2 id="key-h">Enrollment key</h2><pre class="secret" aria-labelledby="key-h"'
        ' tabindex="0">$key</pre>'
        '<h2 id="env-h">Settings of the ZenML server</h2>'
        "<p>Start the workspace's ZenML server with this environment (see docs/zenml.md), "
        "along with <code>ZENML_SERVER_SERVER_URL</code> and the server's own settings.</p>"
        '<pre class="secret" aria-labelledby="env-h" tabindex="0">$env</pre>'
        '<p><a href="$u">Go to the workspace</a></p>',
        key=key,
        env=enrollment_settings(settings, org, ws, key),
        u=url(request, f"/console/workspaces/{ws.id}"),
    )
    crumbs = org_crumbs(org, Crumb(ws.name, f"/console/workspaces/{ws.id}"), Crumb("Key"))
    return page(request, title, body, crumbs)


def _facts(ws: Workspace) -> Markup:
    rows: list[tuple[str, Any]] = [
        ("Status", status_badge(ws)),
        ("Reason", ws.state_reason or "—"),
        ("Status since", widgets.when(ws.status_updated)),
        ("Asked for", STATUS_TEXT.get(ws.desired_state, ws.desired_state)),
        ("Kind", "Managed by zenpro" if ws.is_managed else "Enrolled (runs elsewhere)"),
        ("Server URL", ws.server_url or "—"),
        ("ZenML version", ws.server_version or ws.zenml_version or "—"),
        ("Description", ws.description or "—"),
        ("Created", widgets.when(ws.created)),
    ]
    return h(
        '<dl class="facts">$r</dl>',
        r=join(h("<dt>$k</dt><dd>$v</dd>", k=k, v=v) for k, v in rows),
    )


def _actions(request: Request, access: Access, ws: Workspace) -> Markup:
    """Only what the caller may do (the API's guards decide the posts again)."""
    if ws.status == Status.deleted:
        return Markup("")
    allows = access.grants.org_allows
    base = f"/console/workspaces/{ws.id}"
    out = []
    if allows(ws.organization_id, "workspace", "update"):
        if ws.desired_state == "deactivated":
            out.append(widgets.action_button(request, f"{base}/reactivate", "Reactivate"))
        else:
            out.append(widgets.action_button(request, f"{base}/deactivate", "Deactivate"))
        if not ws.is_managed:
            out.append(widgets.action_button(request, f"{base}/rotate_key", "New enrollment key"))
    if allows(ws.organization_id, "workspace", "delete"):
        out.append(
            widgets.action_button(request, f"{base}/delete", "Delete workspace", danger=True)
        )
    if not out:
        return Markup("")
    return h(
        '<section aria-labelledby="ws-actions"><h2 id="ws-actions">Actions</h2>'
        '<div class="actions">$a</div></section>',
        a=join(out),
    )


async def _server_log(access: Access, ws: Workspace, settings: Settings) -> Markup:
    """The end of a local workspace server's log, for who may change the workspace (the
    local provisioner keeps it; it never holds the server's client secret)."""
    local = ws.is_managed and settings.workspace_provisioner == "local"
    if not local or not access.grants.org_allows(ws.organization_id, "workspace", "update"):
        return Markup("")
    tail = await asyncio.to_thread(log_tail, ws.id, settings)
    if not tail:
        return Markup("")
    return h(
        '<section aria-labelledby="ws-log"><h2 id="ws-log">Server log</h2>'
        "<p>The last lines its ZenML server wrote (administrators only).</p>"
        '<pre class="log" tabindex="0">$t</pre></section>',
        t=tail,
    )


async def _ws_page(
    request: Request,
    db: DB,
    access: Access,
    ws: Workspace,
    settings: Settings,
    **shown: Unpack[Shown],
) -> Response:
    org = await org_repo.get(db, ws.organization_id)
    assert org is not None  # a workspace's organization outlives it (ON DELETE CASCADE)
    log = await _server_log(access, ws, settings)
    body = join([_facts(ws), _actions(request, access, ws), log])
    title = ws.display_name or ws.name
    crumbs = org_crumbs(org, Crumb(ws.name))
    return shown_page(request, f"Workspace {title}", body, crumbs, shown)


@router.get("/console/workspaces/{workspace_id}")
async def console_workspace(
    request: Request,
    db: DB,
    scoped: WsRead,
    settings: AppSettings,
    notice: Notice = None,
    project: ProjectQuery = None,
) -> Response:
    """A workspace, by id or name (where a Pro-mode ZenML server sends every browser
    visit): status, reason, when it last changed, what may be done to it, and what its
    ZenML server holds as this user may see it (``console.workspace_view``)."""
    ws, access = scoped.obj, scoped.access
    org = await org_repo.get(db, ws.organization_id)
    assert org is not None  # a workspace's organization outlives it (ON DELETE CASCADE)
    log = await _server_log(access, ws, settings)
    facts = join([_facts(ws), _actions(request, access, ws), log])
    title, name = ws.display_name or ws.name, ws.name
    held = await holdings(request, db, access.principal, ws, settings, project)
    crumbs = org_crumbs(org, Crumb(name))
    shown: Shown = {"notice": NOTICES.of(notice)}
    response = shown_page(request, f"Workspace {title}", join([facts, held]), crumbs, shown)
    remember_workspace(request, response, name)
    return response


async def _change(
    request: Request,
    db: DB,
    scoped: Scoped[Workspace],
    settings: Settings,
    desired: str,
    notice: str,
) -> Response:
    await forms.read(request)
    change = WorkspaceUpdate(desired_state=desired)
    try:
        async with db.begin_nested():
            ws = await workspaces.update(db, scoped.obj, change, settings)
    except ZenproError as exc:
        refused = refused_notice(exc)
        return await _ws_page(request, db, scoped.access, scoped.obj, settings, **refused)
    return RedirectResponse(
        url(request, f"/console/workspaces/{ws.id}?notice={notice}"), status_code=303
    )


@router.post("/console/workspaces/{workspace_id}/deactivate")
async def console_deactivate_workspace(
    request: Request, db: DB, scoped: WsUpdate, settings: AppSettings
) -> Response:
    """Deactivate a workspace (its server stops logging in and authorizing)."""
    return await _change(request, db, scoped, settings, "deactivated", "deactivated")


@router.post("/console/workspaces/{workspace_id}/reactivate")
async def console_reactivate_workspace(
    request: Request, db: DB, scoped: WsUpdate, settings: AppSettings
) -> Response:
    """Ask for a deactivated (or failed) workspace to be available again."""
    return await _change(request, db, scoped, settings, "available", "reactivated")


@router.post("/console/workspaces/{workspace_id}/delete")
async def console_delete_workspace(
    request: Request, db: DB, scoped: WsDelete, settings: AppSettings
) -> Response:
    """Delete a workspace (its record stays as deleted; its name becomes free)."""
    await forms.read(request)
    ws = scoped.obj
    try:
        async with db.begin_nested():
            await workspaces.delete(db, ws)
    except ZenproError as exc:
        return await _ws_page(request, db, scoped.access, ws, settings, **refused_notice(exc))
    target = f"/console/organizations/{ws.organization_id}?notice=ws-deleted"
    return RedirectResponse(url(request, target), status_code=303)


@router.post("/console/workspaces/{workspace_id}/rotate_key")
async def console_rotate_enrollment_key(
    request: Request, db: DB, scoped: WsUpdate, settings: AppSettings
) -> Response:
    """A new enrollment key (the old one and its machine tokens stop working), shown once."""
    await forms.read(request)
    ws = scoped.obj
    try:
        async with db.begin_nested():
            key = await workspaces.rotate_key(db, ws)
    except ZenproError as exc:
        return await _ws_page(request, db, scoped.access, ws, settings, **refused_notice(exc))
    org = await org_repo.get(db, ws.organization_id)
    assert org is not None
    return _key_page(request, org, ws, key, settings, "New enrollment key")
