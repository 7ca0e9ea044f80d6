"""Service accounts of an organization: create, deactivate / reactivate, delete; their API
keys with an expiry, rotated with a retention period, revoked; a new secret is shown once.
Guards are the API's own (``service_accounts.endpoints``: ``org_guard("service_account",
…)``); making or rotating a key also
needs everything the account holds (``service_accounts.service.require_may_act_for``)."""

from __future__ import annotations

import uuid
from typing import Any, Unpack

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from zenpro.api_keys import service as keys
from zenpro.api_keys.schemas import APIKeyCreate, APIKeyRotate
from zenpro.authz.guards import Scoped
from zenpro.console import forms, widgets
from zenpro.console.forms import Form
from zenpro.console.html import Markup, h, join
from zenpro.console.layout import Crumb, Notices, Shown, console_router, refused, shown_page, url
from zenpro.console.organizations import org_crumbs, org_section
from zenpro.console.paging import Notice
from zenpro.deps import DB
from zenpro.errors import NotFound, ZenproError
from zenpro.kit.params import ServiceAccountRef
from zenpro.models import Organization, User
from zenpro.service_accounts import service as accounts
from zenpro.service_accounts.deps import Creator, Deleter, Reader, Updater
from zenpro.service_accounts.schemas import ServiceAccountCreate, ServiceAccountUpdate

router = console_router()
SA = "/console/organizations/{organization_id}/service_accounts/{sa_id_or_username}"
NOTICES = Notices(
    {
        "created": (
            "Service account created: it is an Organization Member; give it workspace roles."
        ),
        "deactivated": "Deactivated: its keys and tokens stopped working.",
        "reactivated": "Reactivated.",
        "key-deleted": "Key revoked: it stopped working at once.",
        "deleted": "Service account deleted.",
    }
)


def _base(org: Organization) -> str:
    return f"/console/organizations/{org.id}/service_accounts"


async def _list_page(
    request: Request, db: DB, scoped: Scoped[Organization], **shown: Unpack[Shown]
) -> Response:
    org, access = scoped.obj, scoped.access
    form = shown.get("form")
    found = await accounts.list_in(db, org.id)
    rows = (
        widgets.row(
            widgets.link(request, f"{_base(org)}/{sa.id}", sa.username),
            {"State": "Active" if sa.is_active else "Deactivated", "Description": sa.description},
        )
        for sa in found
    )
    listing = (
        widgets.table("Service accounts", ("Name", "State", "Description"), rows)
        if found
        else widgets.empty("No service accounts yet.")
    )
    parts = [listing]
    if access.grants.org_allows(org.id, "service_account", "create"):
        fields = join(
            [
                widgets.text_field(form, "name", "Login name", required=True),
                widgets.text_field(form, "description", "What it is for"),
            ]
        )
        parts.append(
            h(
                '<section aria-labelledby="sa-new"><h2 id="sa-new">New service account</h2>'
                "$e$f</section>",
                e=widgets.form_errors(form, shown.get("problem")),
                f=widgets.post_form(request, _base(org), fields, "Create service account"),
            )
        )
    return org_section(request, access, org, "Service accounts", parts, shown)


@router.get("/console/organizations/{organization_id}/service_accounts")
async def console_service_accounts(
    request: Request, db: DB, scoped: Reader, notice: Notice = None
) -> Response:
    """An organization's service accounts and the form to create one."""
    return await _list_page(request, db, scoped, notice=NOTICES.of(notice))


@router.post("/console/organizations/{organization_id}/service_accounts")
async def console_create_service_account(request: Request, db: DB, scoped: Creator) -> Response:
    """Create a service account (an Organization Member)."""
    form = await forms.read(request)
    data = forms.parse(form, ServiceAccountCreate, forms.name_and_description(form))
    if data is None:
        return await _list_page(request, db, scoped, form=form, status=400)
    try:
        async with db.begin_nested():
            sa = await accounts.create(db, scoped.obj.id, data)
    except ZenproError as exc:
        return await _list_page(request, db, scoped, form=form, **refused(exc))
    target = f"{_base(scoped.obj)}/{sa.id}?notice=created"
    return RedirectResponse(url(request, target), status_code=303)


def _key_row(request: Request, path: str, k: Any, may_update: bool) -> Markup:
    actions = Markup("")
    if may_update:
        rotate = widgets.csrf_form(
            request,
            f"{path}/api_keys/rotate",
            "inline",
            h(
                '<input type="hidden" name="key_id" value="$k">'
                '<label for="r-$k">Old key works for (minutes)</label> '
                '<input id="r-$k" name="retain_period_minutes" type="number" min="0" value="0"'
                ' class="short"> '
                '<button type="submit" class="secondary">Rotate</button>',
                k=str(k.id),
            ),
        )
        revoke = widgets.remove_button(
            request,
            f"{path}/api_keys/delete",
            "Revoke",
            f"Revoke the key {k.name}",
            key_id=str(k.id),
        )
        actions = join([rotate, revoke])
    retained = widgets.when(k.previous_expires) if k.previous_expires else "—"
    cells = {
        "Looks like": k.hint,
        "Expires": widgets.when(k.expires) if k.expires else "Never",
        "Old secret until": retained,
    }
    return widgets.row(k.name, cells, actions)


async def _sa_page(
    request: Request, db: DB, scoped: Scoped[Organization], sa: User, **shown: Unpack[Shown]
) -> Response:
    org, access = scoped.obj, scoped.access
    form = shown.get("form")
    path = f"{_base(org)}/{sa.id}"
    allows = access.grants.org_allows
    may_update = allows(org.id, "service_account", "update")
    found = await keys.list_keys(db, sa.id)
    listing = (
        widgets.table(
            "API keys",
            ("Key", "Looks like", "Expires", "Old secret until", "Actions"),
            (_key_row(request, path, k, may_update) for k in found),
        )
        if found
        else widgets.empty("No API keys yet.")
    )
    facts = h(
        '<dl class="facts"><dt>State</dt><dd>$s</dd><dt>Description</dt><dd>$d</dd>'
        "<dt>Created</dt><dd>$c</dd></dl>",
        s="Active" if sa.is_active else "Deactivated (its keys and tokens do not work)",
        d=sa.description or "—",
        c=widgets.when(sa.created),
    )
    parts = [facts]
    if allows(org.id, "member", "read"):  # its roles: the member page, as for a user
        roles_path = f"/console/organizations/{org.id}/members/{sa.id}"
        parts.append(h("<p>$l</p>", l=widgets.link(request, roles_path, "Its roles")))
    parts += [
        widgets.form_errors(form, shown.get("problem")),
        h('<h2 id="keys">API keys</h2>$l', l=listing),
    ]
    if may_update:
        fields = join(
            [
                widgets.text_field(form, "name", "Key name", required=True),
                widgets.lifetime_field(form),
            ]
        )
        parts.append(
            h(
                '<section aria-labelledby="k-new"><h2 id="k-new">New key</h2>$f</section>',
                f=widgets.post_form(request, f"{path}/api_keys", fields, "Create key"),
            )
        )
    manage = []
    if may_update:
        toggle = "reactivate" if not sa.is_active else "deactivate"
        manage.append(widgets.action_button(request, f"{path}/{toggle}", toggle.capitalize()))
    if allows(org.id, "service_account", "delete"):
        manage.append(
            widgets.action_button(request, f"{path}/delete", "Delete service account", danger=True)
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
    return shown_page(request, f"Service account {sa.username}", join(parts), crumbs, shown)


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
    return await _sa_page(request, db, scoped, sa, notice=NOTICES.of(notice))


async def _posted(
    request: Request, db: DB, scoped: Scoped[Organization], ref: str
) -> tuple[User, Form]:
    """The service account in the address (404 first), then the posted form (after the
    CSRF check)."""
    sa = await accounts.find(db, scoped.obj.id, ref)
    return sa, await forms.read(request)


async def _set_active(
    request: Request, db: DB, scoped: Scoped[Organization], ref: str, active: bool
) -> Response:
    sa, _ = await _posted(request, db, scoped, ref)
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
    sa, _ = await _posted(request, db, scoped, sa_id_or_username)
    await accounts.delete(db, sa)
    return RedirectResponse(url(request, f"{_base(scoped.obj)}?notice=deleted"), status_code=303)


@router.post(SA + "/api_keys")
async def console_create_service_account_key(
    request: Request, db: DB, scoped: Updater, sa_id_or_username: ServiceAccountRef
) -> Response:
    """A new API key for the service account (the caller must hold all it holds)."""
    sa, form = await _posted(request, db, scoped, sa_id_or_username)
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
        return await _sa_page(request, db, scoped, sa, form=form, **refused(exc))
    notice = widgets.secret_notice(f"Key {new.key.name} created.", new.secret)
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
    sa, form = await _posted(request, db, scoped, sa_id_or_username)
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
        return await _sa_page(request, db, scoped, sa, **refused(exc))
    kept = data.retain_period_minutes
    title = f"Key {new.key.name} rotated" + (
        f"; the old secret works for {kept} more minutes." if kept else "; the old secret stopped."
    )
    return await _sa_page(request, db, scoped, sa, notice=widgets.secret_notice(title, new.secret))


@router.post(SA + "/api_keys/delete")
async def console_delete_service_account_key(
    request: Request, db: DB, scoped: Updater, sa_id_or_username: ServiceAccountRef
) -> Response:
    """Revoke a key: it stops working at once."""
    sa, form = await _posted(request, db, scoped, sa_id_or_username)
    await keys.delete_key(db, sa.id, _key_id(form))
    target = f"{_base(scoped.obj)}/{sa.id}?notice=key-deleted"
    return RedirectResponse(url(request, target), status_code=303)
