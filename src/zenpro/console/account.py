"""My account: browser sessions and tokens (revoke), and personal access tokens (create,
the secret shown once; delete). The API's own rules (``/users/me/sessions``,
``/users/me/api_keys``) through the same repository and service calls; ids travel in the
form, never in the address."""

from __future__ import annotations

import uuid
from typing import Any, Unpack

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from zenpro.api_keys import service as keys
from zenpro.api_keys.schemas import APIKeyCreate
from zenpro.auth import repository as auth_repo
from zenpro.auth.deps import CurrentHuman
from zenpro.auth.principal import UserPrincipal
from zenpro.config import Settings
from zenpro.console import forms, widgets
from zenpro.console.forms import Form
from zenpro.console.html import Markup, h, join
from zenpro.console.layout import Crumb, Notices, Shown, console_router, refused, shown_page, url
from zenpro.console.paging import Notice
from zenpro.deps import DB, AppSettings
from zenpro.devices import service as devices
from zenpro.errors import Forbidden, NotFound, ZenproError
from zenpro.invitations import service as invitations
from zenpro.kit.db import utcnow
from zenpro.models import Device, Invitation, User
from zenpro.users import service as users
from zenpro.users.schemas import UserUpdateMe

router = console_router()
PATH = "/console/account"
NOTICES = Notices(
    {
        "revoked": "Session revoked.",
        "deleted": "Token deleted: it stops working at once.",
        "device-revoked": "Device revoked: its tokens stop working at once.",
        "password": "Password changed: your other sessions and tokens have been signed out.",
    }
)
DEVICE_STATUS = {"pending": "Waiting for approval", "approved": "Approved", "denied": "Denied"}


def _session_row(request: Request, actor: UserPrincipal, t: Any) -> Markup:
    current = t.id == actor.token_id
    action = (
        Markup("This browser")
        if current
        else widgets.remove_button(
            request,
            f"{PATH}/sessions/revoke",
            "Revoke",
            f"Revoke the {t.kind} from {t.ip or 'an unknown address'}",
            session_id=str(t.id),
        )
    )
    cells = {
        "From": t.user_agent or "—",
        "Address": t.ip or "—",
        "Last used": widgets.when(t.last_used),
        "Expires": widgets.when(t.expires),
    }
    return widgets.row(t.kind, cells, action)


def _key_row(request: Request, k: Any) -> Markup:
    cells = {
        "Looks like": k.hint,
        "State": "Active" if k.active else "Deactivated",
        "Last used": widgets.when(k.last_used),
        "Expires": widgets.when(k.expires) if k.expires else "Never",
    }
    return widgets.row(
        k.name,
        cells,
        widgets.remove_button(
            request,
            f"{PATH}/api_keys/delete",
            "Delete",
            f"Delete the token {k.name}",
            key_id=str(k.id),
        ),
    )


def _device_row(request: Request, d: Device) -> Markup:
    cells = {
        "From": d.user_agent or "—",
        "Address": d.ip or "—",
        "State": DEVICE_STATUS.get(d.status, d.status),
        "Since": widgets.when(d.created),
    }
    revoke = widgets.remove_button(
        request,
        f"{PATH}/devices/revoke",
        "Revoke",
        f"Revoke the device {d.client_id} from {d.ip or 'an unknown address'}",
        device_id=str(d.id),
    )
    return widgets.row(d.client_id, cells, revoke)


def _devices_section(request: Request, devices: list[Device]) -> Markup:
    listing = (
        widgets.table(
            "CLI devices",
            ("Client", "From", "Address", "State", "Since", "Actions"),
            [_device_row(request, d) for d in devices],
        )
        if devices
        else widgets.empty("No device has asked to sign in as you (zenml login runs this).")
    )
    return h(
        '<section aria-labelledby="s-devices"><h2 id="s-devices">CLI devices</h2>'
        "<p>Clients that signed in through the device flow (<code>zenml login</code>); "
        "revoking one ends its tokens.</p>$t</section>",
        t=listing,
    )


def _invitations_section(request: Request, pending: list[tuple[Invitation, str]]) -> Markup:
    if not pending:
        return Markup("")
    rows = [
        widgets.row(
            widgets.link(request, f"/console/invitations/{inv.id}", org_name),
            {"Expires": widgets.when(inv.expires)},
            widgets.csrf_form(
                request,
                f"/console/invitations/{inv.id}/accept",
                "inline",
                h(
                    '<button type="submit" aria-label="Accept the invitation to $o">Accept'
                    "</button>",
                    o=org_name,
                ),
            ),
        )
        for inv, org_name in pending
    ]
    return h(
        '<section aria-labelledby="s-inv"><h2 id="s-inv">Invitations for you</h2>$t</section>',
        t=widgets.table("Pending invitations", ("Organization", "Expires", "Actions"), rows),
    )


def _password_section(
    request: Request, user: User, settings: Settings, form: Form | None, problem: str | None
) -> Markup:
    """Changing one's password, where password sign-in is on and the account has one."""
    if not settings.password_login or user.password_hash is None:
        return Markup("")
    fields = join(
        [
            widgets.text_field(
                form,
                "old_password",
                "Current password",
                kind="password",
                required=True,
                autocomplete="current-password",
            ),
            widgets.text_field(
                form,
                "password",
                "New password",
                kind="password",
                required=True,
                autocomplete="new-password",
                hint="Your other sessions and tokens are signed out when it changes.",
            ),
            widgets.text_field(
                form,
                "confirm",
                "New password again",
                kind="password",
                required=True,
                autocomplete="new-password",
            ),
        ]
    )
    return h(
        '<section aria-labelledby="s-pw"><h2 id="s-pw">Password</h2>$e$f</section>',
        e=widgets.form_errors(form, problem),
        f=widgets.post_form(request, f"{PATH}/password", fields, "Change password"),
    )


async def _account_page(
    request: Request,
    db: DB,
    actor: UserPrincipal,
    settings: Settings,
    *,
    password_form: Form | None = None,
    password_problem: str | None = None,
    **shown: Unpack[Shown],
) -> Response:
    form = shown.get("form")
    user = await users.get_me(db, actor)
    sessions = await auth_repo.user_sessions(db, actor.user_id, utcnow())
    pats = await keys.list_keys(db, actor.user_id)
    devices_ = await devices.list_mine(db, actor.user_id)
    pending = await invitations.pending_mine(db, user)
    fields = join(
        [
            widgets.text_field(form, "name", "Name", required=True),
            widgets.text_field(form, "description", "What it is for"),
            widgets.lifetime_field(form),
        ]
    )
    body = join(
        [
            _invitations_section(request, pending),
            _password_section(request, user, settings, password_form, password_problem),
            h(
                '<section aria-labelledby="s-sessions">'
                '<h2 id="s-sessions">Sessions and tokens</h2>$t</section>',
                t=widgets.table(
                    "Sessions",
                    ("Kind", "From", "Address", "Last used", "Expires", "Actions"),
                    [_session_row(request, actor, t) for t in sessions],
                ),
            ),
            h(
                '<section aria-labelledby="s-pats"><h2 id="s-pats">Personal access tokens</h2>'
                "<p>For scripts and the ZenML client: send one as a Bearer token.</p>"
                '$t<h3 id="s-new">New token</h3>$e$f</section>',
                t=widgets.table(
                    "Personal access tokens",
                    ("Name", "Looks like", "State", "Last used", "Expires", "Actions"),
                    [_key_row(request, k) for k in pats],
                )
                if pats
                else widgets.empty("No personal access tokens yet."),
                e=widgets.form_errors(form, shown.get("problem")),
                f=widgets.post_form(request, f"{PATH}/api_keys", fields, "Create token"),
            ),
            _devices_section(request, devices_),
        ]
    )
    return shown_page(request, "My account", body, [Crumb("My account")], shown)


@router.get(PATH)
async def console_account(
    request: Request, db: DB, actor: CurrentHuman, settings: AppSettings, notice: Notice = None
) -> Response:
    """My invitations, password, sessions, personal access tokens and CLI devices."""
    return await _account_page(request, db, actor, settings, notice=NOTICES.of(notice))


@router.post(f"{PATH}/sessions/revoke")
async def console_revoke_session(request: Request, db: DB, actor: CurrentHuman) -> Response:
    """Revoke one of my sessions or tokens (the API's ``DELETE /users/me/sessions/{id}``)."""
    form = await forms.read(request)
    try:
        token = await auth_repo.get_user_token(db, actor.user_id, uuid.UUID(form.get("session_id")))
    except ValueError:
        token = None
    if token is None:
        raise NotFound("No such session of yours")
    await auth_repo.delete_token(db, token.id)
    return RedirectResponse(url(request, f"{PATH}?notice=revoked"), status_code=303)


@router.post(f"{PATH}/api_keys")
async def console_create_api_key(
    request: Request, db: DB, actor: CurrentHuman, settings: AppSettings
) -> Response:
    """Create a personal access token; its secret is shown in this answer only."""
    form = await forms.read(request)
    values = {
        "name": form.get("name").strip(),
        "description": forms.optional(form.get("description")),
        "expires_in_minutes": forms.integer(form.get("expires_in_minutes")),
    }
    data = forms.parse(form, APIKeyCreate, values)
    if data is None:
        return await _account_page(request, db, actor, settings, form=form, status=400)
    try:
        async with db.begin_nested():
            new = await keys.create_key(db, actor.user_id, data, keys.Source.of(actor))
    except ZenproError as exc:
        return await _account_page(request, db, actor, settings, form=form, **refused(exc))
    notice = widgets.secret_notice(f"Token {new.key.name} created.", new.secret)
    return await _account_page(request, db, actor, settings, notice=notice)


@router.post(f"{PATH}/api_keys/delete")
async def console_delete_api_key(request: Request, db: DB, actor: CurrentHuman) -> Response:
    """Delete one of my personal access tokens (it stops working at once)."""
    form = await forms.read(request)
    try:
        key_id = uuid.UUID(form.get("key_id"))
    except ValueError:
        raise NotFound("No such token of yours") from None
    await keys.delete_key(db, actor.user_id, key_id)
    return RedirectResponse(url(request, f"{PATH}?notice=deleted"), status_code=303)


@router.post(f"{PATH}/devices/revoke")
async def console_revoke_device(request: Request, db: DB, actor: CurrentHuman) -> Response:
    """Revoke one of my CLI devices (the API's ``DELETE /users/me/devices/{id}``)."""
    form = await forms.read(request)
    try:
        device_id = uuid.UUID(form.get("device_id"))
    except ValueError:
        raise NotFound("No such device of yours") from None
    await devices.revoke(db, actor.user_id, device_id)
    return RedirectResponse(url(request, f"{PATH}?notice=device-revoked"), status_code=303)


@router.post(f"{PATH}/password")
async def console_change_password(
    request: Request, db: DB, actor: CurrentHuman, settings: AppSettings
) -> Response:
    """Change my password (the API's ``PATCH /users/me`` with ``old_password``: a wrong
    one is refused, and my other sessions and tokens end)."""
    form = await forms.read(request)
    if not settings.password_login:
        raise Forbidden("Password sign-in is off on this server")
    values = {"password": form.get("password"), "old_password": form.get("old_password")}
    data = forms.parse(form, UserUpdateMe, values)
    if data is not None and form.get("password") != form.get("confirm"):
        form.errors["confirm"] = "The two new passwords differ."
    kept = Form({})  # passwords are never sent back into the page
    kept.errors = form.errors
    if data is None or form.errors:
        return await _account_page(request, db, actor, settings, password_form=kept, status=400)
    try:
        async with db.begin_nested():
            await users.update_me(db, actor, data)
    except ZenproError as exc:
        return await _account_page(
            request,
            db,
            actor,
            settings,
            password_form=kept,
            password_problem=exc.message,
            status=exc.status_code,
        )
    return RedirectResponse(url(request, f"{PATH}?notice=password"), status_code=303)
