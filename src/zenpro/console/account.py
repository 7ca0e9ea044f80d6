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
from zenpro.console import forms, widgets
from zenpro.console.html import Markup, h, join
from zenpro.console.layout import Crumb, Notices, Shown, console_router, refused, shown_page, url
from zenpro.console.paging import Notice
from zenpro.deps import DB
from zenpro.errors import NotFound, ZenproError
from zenpro.kit.db import utcnow

router = console_router()
PATH = "/console/account"
NOTICES = Notices(
    {"revoked": "Session revoked.", "deleted": "Token deleted: it stops working at once."}
)


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


async def _account_page(
    request: Request, db: DB, actor: UserPrincipal, **shown: Unpack[Shown]
) -> Response:
    form = shown.get("form")
    sessions = await auth_repo.user_sessions(db, actor.user_id, utcnow())
    pats = await keys.list_keys(db, actor.user_id)
    fields = join(
        [
            widgets.text_field(form, "name", "Name", required=True),
            widgets.text_field(form, "description", "What it is for"),
            widgets.lifetime_field(form),
        ]
    )
    body = join(
        [
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
        ]
    )
    return shown_page(request, "My account", body, [Crumb("My account")], shown)


@router.get(PATH)
async def console_account(
    request: Request, db: DB, actor: CurrentHuman, notice: Notice = None
) -> Response:
    """My sessions and personal access tokens."""
    return await _account_page(request, db, actor, notice=NOTICES.of(notice))


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
async def console_create_api_key(request: Request, db: DB, actor: CurrentHuman) -> Response:
    """Create a personal access token; its secret is shown in this answer only."""
    form = await forms.read(request)
    values = {
        "name": form.get("name").strip(),
        "description": forms.optional(form.get("description")),
        "expires_in_minutes": forms.integer(form.get("expires_in_minutes")),
    }
    data = forms.parse(form, APIKeyCreate, values)
    if data is None:
        return await _account_page(request, db, actor, form=form, status=400)
    try:
        async with db.begin_nested():
            new = await keys.create_key(db, actor.user_id, data, keys.Source.of(actor))
    except ZenproError as exc:
        return await _account_page(request, db, actor, form=form, **refused(exc))
    notice = widgets.secret_notice(f"Token {new.key.name} created.", new.secret)
    return await _account_page(request, db, actor, notice=notice)


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
