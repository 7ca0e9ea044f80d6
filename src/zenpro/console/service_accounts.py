"""Service accounts of an organization: create, deactivate / reactivate, delete; their API
keys with an expiry, rotated with a retention period, revoked; a new secret is shown once.
Guards are the API's (``org_guard("service_account", …)``); making or rotating a key also
needs everything the account holds (``service_accounts.service.require_may_act_for``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from zenpro.api_keys import service as keys
from zenpro.api_keys.schemas import APIKeyCreate, APIKeyRotate
from zenpro.authz.guards import Scoped
from zenpro.console import forms
from zenpro.console.forms import Form
from zenpro.console.html import Markup, h, join
from zenpro.console.layout import Crumb, console_router, flash, hidden_csrf, page, url
from zenpro.console.organizations import org_crumbs, org_tabs
from zenpro.console.paging import Notice
from zenpro.console.widgets import (
    action_button,
    empty,
    form_errors,
    link,
    post_form,
    text_field,
    when,
)
from zenpro.deps import DB
from zenpro.errors import NotFound, ZenproError
from zenpro.kit.params import ServiceAccountRef
from zenpro.models import Organization, User
from zenpro.organizations.deps import org_guard
from zenpro.service_accounts import service as accounts
from zenpro.service_accounts.schemas import ServiceAccountCreate, ServiceAccountUpdate

router = console_router()
SA = "/console/organizations/{organization_id}/service_accounts/{sa_id_or_username}"
Creator = Annotated[Scoped[Organization], Depends(org_guard("service_account", "create"))]
Reader = Annotated[Scoped[Organization], Depends(org_guard("service_account", "read"))]
Updater = Annotated[Scoped[Organization], Depends(org_guard("service_account", "update"))]
Deleter = Annotated[Scoped[Organization], Depends(org_guard("service_account", "delete"))]
NOTICES = {
    "created": "Service account created: it is an Organization Member; give it workspace roles.",
    "deactivated": "Deactivated: its keys and tokens stopped working.",
    "reactivated": "Reactivated.",
    "key-deleted": "Key revoked: it stopped working at once.",
    "deleted": "Service account deleted.",
}


def _base(org: Organization) -> str:
    return f"/console/organizations/{org.id}/service_accounts"


async def _list_page(
    request: Request,
    db: DB,
    scoped: Scoped[Organization],
    *,
    form: Form | None = None,
    problem: str | None = None,
    notice: Markup | None = None,
    status: int = 200,
) -> Response:
    org, access = scoped.obj, scoped.access
    found = await accounts.list_in(db, org.id)
    rows = join(
        h(
            '<tr><th scope="row">$l</th><td data-label="State">$s</td>'
            '<td data-label="Description">$d</td></tr>',
            l=link(request, f"{_base(org)}/{sa.id}", sa.username),
            s="Active" if sa.is_active else "Deactivated",
            d=sa.description or "",
        )
        for sa in found
    )
    listing = (
        h(
            '<table><caption class="vh">Service accounts</caption><thead><tr>'
            '<th scope="col">Name</th><th scope="col">State</th><th scope="col">Description</th>'
            "</tr></thead><tbody>$r</tbody></table>",
            r=rows,
        )
        if found
        else empty("No service accounts yet.")
    )
    parts = [org_tabs(request, access, org, "Service accounts"), listing]
    if access.grants.org_allows(org.id, "service_account", "create"):
        fields = join(
            [
                text_field(form, "name", "Login name", required=True),
                text_field(form, "description", "What it is for"),
            ]
        )
        parts.append(
            h(
                '<section aria-labelledby="sa-new"><h2 id="sa-new">New service account</h2>'
                "$e$f</section>",
                e=form_errors(form, problem),
                f=post_form(request, _base(org), fields, "Create service account"),
            )
        )
    crumbs = org_crumbs(org, Crumb("Service accounts"))
    return page(
        request,
        f"Service accounts of {org.name}",
        join(parts),
        crumbs,
        notice=notice,
        status=status,
    )


@router.get("/console/organizations/{organization_id}/service_accounts")
async def console_service_accounts(
    request: Request, db: DB, scoped: Reader, notice: Notice = None
) -> Response:
    """An organization's service accounts and the form to create one."""
    shown = flash(NOTICES[notice]) if notice in NOTICES else None
    return await _list_page(request, db, scoped, notice=shown)


@router.post("/console/organizations/{organization_id}/service_accounts")
async def console_create_service_account(request: Request, db: DB, scoped: Creator) -> Response:
    """Create a service account (an Organization Member)."""
    form = await forms.read(request)
    values = {
        "name": form.get("name").strip(),
        "description": forms.optional(form.get("description")),
    }
    data = forms.parse(form, ServiceAccountCreate, values)
    if data is None:
        return await _list_page(request, db, scoped, form=form, status=400)
    try:
        async with db.begin_nested():
            sa = await accounts.create(db, scoped.obj.id, data)
    except ZenproError as exc:
        return await _list_page(
            request, db, scoped, form=form, problem=exc.message, status=exc.status_code
        )
    target = f"{_base(scoped.obj)}/{sa.id}?notice=created"
    return RedirectResponse(url(request, target), status_code=303)


def _key_row(request: Request, path: str, k: Any, may_update: bool) -> Markup:
    actions = Markup("")
    if may_update:
        rotate = h(
            '<form method="post" action="$a" class="inline">$t'
            '<input type="hidden" name="key_id" value="$k">'
            '<label for="r-$k">Old key works for (minutes)</label> '
            '<input id="r-$k" name="retain_period_minutes" type="number" min="0" value="0"'
            ' class="short"> '
            '<button type="submit" class="secondary">Rotate</button></form>',
            a=url(request, f"{path}/api_keys/rotate"),
            t=hidden_csrf(request),
            k=str(k.id),
        )
        revoke = action_button(
            request,
            f"{path}/api_keys/delete",
            "Revoke",
            danger=True,
            hidden={"key_id": str(k.id)},
            describe=f"Revoke the key {k.name}",
        )
        actions = join([rotate, revoke])
    retained = when(k.previous_expires) if k.previous_expires else "—"
    return h(
        '<tr><th scope="row">$n</th><td data-label="Looks like">$hint</td>'
        '<td data-label="Expires">$ex</td><td data-label="Old secret until">$old</td>'
        "<td>$a</td></tr>",
        n=k.name,
        hint=k.hint,
        ex=when(k.expires) if k.expires else "Never",
        old=retained,
        a=actions,
    )


async def _sa_page(
    request: Request,
    db: DB,
    scoped: Scoped[Organization],
    sa: User,
    *,
    form: Form | None = None,
    problem: str | None = None,
    notice: Markup | None = None,
    status: int = 200,
) -> Response:
    org, access = scoped.obj, scoped.access
    path = f"{_base(org)}/{sa.id}"
    allows = access.grants.org_allows
    may_update = allows(org.id, "service_account", "update")
    found = await keys.list_keys(db, sa.id)
    listing = (
        h(
            '<table><caption class="vh">API keys</caption><thead><tr><th scope="col">Key</th>'
            '<th scope="col">Looks like</th><th scope="col">Expires</th>'
            '<th scope="col">Old secret until</th><th scope="col">Actions</th></tr></thead>'
            "<tbody>$r</tbody></table>",
            r=join(_key_row(request, path, k, may_update) for k in found),
        )
        if found
        else empty("No API keys yet.")
    )
    facts = h(
        '<dl class="facts"><dt>State</dt><dd>$s</dd><dt>Description</dt><dd>$d</dd>'
        "<dt>Created</dt><dd>$c</dd></dl>",
        s="Active" if sa.is_active else "Deactivated (its keys and tokens do not work)",
        d=sa.description or "—",
        c=when(sa.created),
    )
    parts = [facts, form_errors(form, problem), h('<h2 id="keys">API keys</h2>$l', l=listing)]
    if may_update:
        fields = join(
            [
                text_field(form, "name", "Key name", required=True),
                text_field(
                    form,
                    "expires_in_minutes",
                    "Lifetime in minutes",
                    kind="number",
                    hint="Empty: it never expires.",
                ),
            ]
        )
        parts.append(
            h(
                '<section aria-labelledby="k-new"><h2 id="k-new">New key</h2>$f</section>',
                f=post_form(request, f"{path}/api_keys", fields, "Create key"),
            )
        )
    manage = []
    if may_update:
        toggle = "reactivate" if not sa.is_active else "deactivate"
        manage.append(action_button(request, f"{path}/{toggle}", toggle.capitalize()))
    if allows(org.id, "service_account", "delete"):
        manage.append(
            action_button(request, f"{path}/delete", "Delete service account", danger=True)
        )
    if manage:
        parts.append(
            h(
                '<section aria-labelledby="sa-manage" class="danger-zone">'
                '<h2 id="sa-manage">The account</h2><p>Deactivating stops every key and token '
                "of it at once; deleting removes it with its keys and roles.</p>"
                '<div class="actions">$b</div></section>',
                b=join(manage),
            )
        )
    crumbs = org_crumbs(org, Crumb("Service accounts", _base(org)), Crumb(sa.username))
    return page(
        request,
        f"Service account {sa.username}",
        join(parts),
        crumbs,
        notice=notice,
        status=status,
    )


@router.get(SA)
async def console_service_account(
    request: Request,
    db: DB,
    scoped: Reader,
    sa_id_or_username: ServiceAccountRef,
    notice: Notice = None,
) -> Response:
    """A service account: its state and API keys."""
    sa = await accounts.find(db, scoped.obj.id, sa_id_or_username)
    shown = flash(NOTICES[notice]) if notice in NOTICES else None
    return await _sa_page(request, db, scoped, sa, notice=shown)


async def _set_active(
    request: Request, db: DB, scoped: Scoped[Organization], ref: str, active: bool
) -> Response:
    sa = await accounts.find(db, scoped.obj.id, ref)
    await forms.read(request)
    await accounts.update(db, sa, ServiceAccountUpdate(is_active=active))
    notice = "reactivated" if active else "deactivated"
    target = f"{_base(scoped.obj)}/{sa.id}?notice={notice}"
    return RedirectResponse(url(request, target), status_code=303)


@router.post(SA + "/deactivate")
async def console_deactivate_service_account(
    request: Request, db: DB, scoped: Updater, sa_id_or_username: ServiceAccountRef
) -> Response:
    """Deactivate a service account: every key and token of it stops at once."""
    return await _set_active(request, db, scoped, sa_id_or_username, False)


@router.post(SA + "/reactivate")
async def console_reactivate_service_account(
    request: Request, db: DB, scoped: Updater, sa_id_or_username: ServiceAccountRef
) -> Response:
    """Reactivate a service account."""
    return await _set_active(request, db, scoped, sa_id_or_username, True)


@router.post(SA + "/delete")
async def console_delete_service_account(
    request: Request, db: DB, scoped: Deleter, sa_id_or_username: ServiceAccountRef
) -> Response:
    """Delete a service account with its keys, tokens and role assignments."""
    sa = await accounts.find(db, scoped.obj.id, sa_id_or_username)
    await forms.read(request)
    await accounts.delete(db, sa)
    return RedirectResponse(url(request, f"{_base(scoped.obj)}?notice=deleted"), status_code=303)


def _secret_notice(title: str, secret: str) -> Markup:
    return h(
        '<div class="notice ok" role="status"><p>$t Copy it now: it is shown only here.</p>'
        '<pre class="secret" tabindex="0">$s</pre></div>',
        t=title,
        s=secret,
    )


@router.post(SA + "/api_keys")
async def console_create_service_account_key(
    request: Request, db: DB, scoped: Updater, sa_id_or_username: ServiceAccountRef
) -> Response:
    """A new API key for the service account (the caller must hold all it holds)."""
    sa = await accounts.find(db, scoped.obj.id, sa_id_or_username)
    form = await forms.read(request)
    values = {
        "name": form.get("name").strip(),
        "expires_in_minutes": forms.integer(form.get("expires_in_minutes")),
    }
    data = forms.parse(form, APIKeyCreate, values)
    if data is None:
        return await _sa_page(request, db, scoped, sa, form=form, status=400)
    try:
        async with db.begin_nested():
            await accounts.require_may_act_for(db, scoped.access, sa)
            new = await keys.create_key(db, sa.id, data, keys.Source.of(scoped.access.principal))
    except ZenproError as exc:
        return await _sa_page(
            request, db, scoped, sa, form=form, problem=exc.message, status=exc.status_code
        )
    notice = _secret_notice(f"Key {new.key.name} created.", new.secret)
    return await _sa_page(request, db, scoped, sa, notice=notice)


def _key_id(form: Form) -> uuid.UUID:
    try:
        return uuid.UUID(form.get("key_id"))
    except ValueError:
        raise NotFound("No such key of this service account") from None


@router.post(SA + "/api_keys/rotate")
async def console_rotate_service_account_key(
    request: Request, db: DB, scoped: Updater, sa_id_or_username: ServiceAccountRef
) -> Response:
    """A new secret for a key; the old one keeps working for the retention period."""
    sa = await accounts.find(db, scoped.obj.id, sa_id_or_username)
    form = await forms.read(request)
    key_id = _key_id(form)
    data = forms.parse(
        form,
        APIKeyRotate,
        {"retain_period_minutes": forms.integer(form.get("retain_period_minutes")) or 0},
    )
    if data is None:
        problem = "The retention must be a number of minutes (0 to 43200)."
        return await _sa_page(request, db, scoped, sa, problem=problem, status=400)
    try:
        async with db.begin_nested():
            await accounts.require_may_act_for(db, scoped.access, sa)
            new = await keys.rotate_key(db, sa.id, key_id, data)
    except ZenproError as exc:
        return await _sa_page(request, db, scoped, sa, problem=exc.message, status=exc.status_code)
    kept = data.retain_period_minutes
    title = f"Key {new.key.name} rotated" + (
        f"; the old secret works for {kept} more minutes." if kept else "; the old secret stopped."
    )
    return await _sa_page(request, db, scoped, sa, notice=_secret_notice(title, new.secret))


@router.post(SA + "/api_keys/delete")
async def console_delete_service_account_key(
    request: Request, db: DB, scoped: Updater, sa_id_or_username: ServiceAccountRef
) -> Response:
    """Revoke a key: it stops working at once."""
    sa = await accounts.find(db, scoped.obj.id, sa_id_or_username)
    form = await forms.read(request)
    await keys.delete_key(db, sa.id, _key_id(form))
    target = f"{_base(scoped.obj)}/{sa.id}?notice=key-deleted"
    return RedirectResponse(url(request, target), status_code=303)
