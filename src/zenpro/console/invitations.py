"""An invitation addressed to me: what it carries, and accepting it. The API's rule
(``invitations.service.get_mine``: only the invited, verified email sees it; anyone else
gets 404) decides before anything else, the CSRF check included."""

from __future__ import annotations

import uuid
from typing import Unpack

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from zenpro.authz.guards import Authenticated
from zenpro.config import Settings
from zenpro.console import forms
from zenpro.console.html import Markup, h, join
from zenpro.console.layout import (
    Crumb,
    Shown,
    console_router,
    hidden_csrf,
    refused,
    shown_page,
    url,
)
from zenpro.console.widgets import when
from zenpro.deps import DB, AppSettings
from zenpro.errors import ZenproError
from zenpro.invitations import service as invitations
from zenpro.models import Invitation
from zenpro.organizations import repository as org_repo

router = console_router()


def console_link(settings: Settings, inv_id: uuid.UUID) -> str:
    """Where an invitee opens an invitation in a browser."""
    return f"{settings.base_url}/console/invitations/{inv_id}"


async def _page(
    request: Request, db: DB, inv: Invitation, settings: Settings, **shown: Unpack[Shown]
) -> Response:
    problem = shown.get("problem")
    org = await org_repo.get(db, inv.organization_id)
    read = await invitations.one(db, inv, settings)
    roles = ", ".join(r.role.name for r in read.roles) or "Organization Member"
    teams = ", ".join(t.name for t in read.teams) or "—"
    facts = h(
        '<dl class="facts"><dt>Organization</dt><dd>$o</dd><dt>Invited</dt><dd>$e</dd>'
        "<dt>Roles</dt><dd>$r</dd><dt>Teams</dt><dd>$t</dd><dt>Expires</dt><dd>$x</dd></dl>",
        o=org.name if org else "—",
        e=inv.email,
        r=roles,
        t=teams,
        x=when(inv.expires),
    )
    action: Markup
    if inv.accepted:
        action = h('<p class="notice ok" role="status">Accepted.</p>')
    else:
        action = h(
            '<form method="post" action="$a" class="stack">$t<div class="actions">'
            '<button type="submit">Accept the invitation</button></div></form>',
            a=url(request, f"/console/invitations/{inv.id}/accept"),
            t=hidden_csrf(request),
        )
    error = h('<p class="notice error" role="alert">$m</p>', m=problem) if problem else Markup("")
    title = f"Invitation to {org.name}" if org else "Invitation"
    return shown_page(request, title, join([error, facts, action]), [Crumb("Invitation")], shown)


@router.get("/console/invitations/{invitation_id}")
async def console_invitation(
    request: Request, db: DB, access: Authenticated, settings: AppSettings, invitation_id: uuid.UUID
) -> Response:
    """An invitation addressed to me, and the button to accept it."""
    inv = await invitations.get_mine(db, access, invitation_id)
    return await _page(request, db, inv, settings)


@router.post("/console/invitations/{invitation_id}/accept")
async def console_accept_invitation(
    request: Request, db: DB, access: Authenticated, settings: AppSettings, invitation_id: uuid.UUID
) -> Response:
    """Accept an invitation: its roles and teams become mine, then its organization opens."""
    inv = await invitations.get_mine(db, access, invitation_id)  # 404 for anyone else, first
    await forms.read(request)
    try:
        async with db.begin_nested():
            done = await invitations.accept(db, access, invitation_id)
    except ZenproError as exc:
        return await _page(request, db, inv, settings, **refused(exc))
    target = f"/console/organizations/{done.organization_id}?notice=joined"
    return RedirectResponse(url(request, target), status_code=303)
