"""My account: browser sessions and tokens (revoke), and personal access tokens (create,
the secret shown once; delete). The API's own rules (``/users/me/sessions``,
``/users/me/api_keys``) through the same repository and service calls; ids travel in the
form, never in the address."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from zenpro.api_keys import service as keys
from zenpro.api_keys.schemas import APIKeyCreate
from zenpro.auth import repository as auth_repo
from zenpro.auth.deps import CurrentHuman
from zenpro.auth.principal import UserPrincipal
from zenpro.console import forms
from zenpro.console.forms import Form
from zenpro.console.html import Markup, h, join
from zenpro.console.layout import Crumb, console_router, flash, page, url
from zenpro.console.paging import Notice
from zenpro.console.widgets import action_button, empty, form_errors, post_form, text_field, when
from zenpro.deps import DB
from zenpro.errors import NotFound, ZenproError
from zenpro.kit.db import utcnow

router = console_router()
PATH = "/console/account"
NOTICES = {"revoked": "Session revoked.", "deleted": "Token deleted: it stops working at once."}


def _session_row(request: Request, actor: UserPrincipal, t: Any) -> Markup:
    current = t.id == actor.token_id
    action = (
        Markup("This browser")
        if current
        else action_button(
            request,
            f"{PATH}/sessions/revoke",
            "Revoke",
            danger=True,
            hidden={"session_id": str(t.id)},
            describe=f"Revoke the {t.kind} from {t.ip or 'an unknown address'}",
        )
    )
    return h(
        '<tr><th scope="row">$k</th><td data-label="From">$ua</td><td data-label="Address">$ip</td>'
        '<td data-label="Last used">$lu</td><td data-label="Expires">$ex</td><td>$a</td></tr>',
        k=t.kind,
        ua=t.user_agent or "—",
        ip=t.ip or "—",
        lu=when(t.last_used),
        ex=when(t.expires),
        a=action,
    )


def _key_row(request: Request, k: Any) -> Markup:
    state = "Active" if k.active else "Deactivated"
    return h(
        '<tr><th scope="row">$n</th><td data-label="Looks like">$hint</td>'
        '<td data-label="State">$s</td>'
        '<td data-label="Last used">$lu</td><td data-label="Expires">$ex</td><td>$a</td></tr>',
        n=k.name,
        hint=k.hint,
        s=state,
        lu=when(k.last_used),
        ex=when(k.expires) if k.expires else "Never",
        a=action_button(
            request,
            f"{PATH}/api_keys/delete",
            "Delete",
            danger=True,
            hidden={"key_id": str(k.id)},
            describe=f"Delete the token {k.name}",
        ),
    )


def _table(caption: str, head: tuple[str, ...], rows: list[Markup]) -> Markup:
    cols = join(h('<th scope="col">$c</th>', c=c) for c in head)
    return h(
        '<table><caption class="vh">$c</caption><thead><tr>$h</tr></thead>'
        "<tbody>$r</tbody></table>",
        c=caption,
        h=cols,
        r=join(rows),
    )


async def _account_page(
    request: Request,
    db: DB,
    actor: UserPrincipal,
    *,
    form: Form | None = None,
    problem: str | None = None,
    notice: Markup | None = None,
    status: int = 200,
) -> Response:
    sessions = await auth_repo.user_sessions(db, actor.user_id, utcnow())
    pats = await keys.list_keys(db, actor.user_id)
    fields = join(
        [
            text_field(form, "name", "Name", required=True),
            text_field(form, "description", "What it is for"),
            text_field(
                form,
                "expires_in_minutes",
                "Lifetime in minutes",
                kind="number",
                hint="Empty: it never expires.",
            ),
        ]
    )
    body = join(
        [
            h(
                '<section aria-labelledby="s-sessions">'
                '<h2 id="s-sessions">Sessions and tokens</h2>$t</section>',
                t=_table(
                    "Sessions",
                    ("Kind", "From", "Address", "Last used", "Expires", "Actions"),
                    [_session_row(request, actor, t) for t in sessions],
                ),
            ),
            h(
                '<section aria-labelledby="s-pats"><h2 id="s-pats">Personal access tokens</h2>'
                "<p>For scripts and the ZenML client: send one as a Bearer token.</p>"
                '$t<h3 id="s-new">New token</h3>$e$f</section>',
                t=_table(
                    "Personal access tokens",
                    ("Name", "Looks like", "State", "Last used", "Expires", "Actions"),
                    [_key_row(request, k) for k in pats],
                )
                if pats
                else empty("No personal access tokens yet."),
                e=form_errors(form, problem),
                f=post_form(request, f"{PATH}/api_keys", fields, "Create token"),
            ),
        ]
    )
    return page(request, "My account", body, [Crumb("My account")], notice=notice, status=status)


@router.get(PATH)
async def console_account(
    request: Request, db: DB, actor: CurrentHuman, notice: Notice = None
) -> Response:
    """My sessions and personal access tokens."""
    shown = flash(NOTICES[notice]) if notice in NOTICES else None
    return await _account_page(request, db, actor, notice=shown)


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
        return await _account_page(
            request, db, actor, form=form, problem=exc.message, status=exc.status_code
        )
    notice = h(
        '<div class="notice ok" role="status"><p>Token $n created. Copy it now: it is shown only '
        'here.</p><pre class="secret" tabindex="0">$s</pre></div>',
        n=new.key.name,
        s=new.secret,
    )
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
