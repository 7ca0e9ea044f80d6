"""An organization's audit trail, newest first, filtered by actor, action, object type and
time; each event links to its object. For those who read its members, as in the API
(``GET /organizations/{id}/audit_events``)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from zenpro.audit import repository as audit_repo
from zenpro.console import forms
from zenpro.console.forms import Form
from zenpro.console.html import Markup, h, join
from zenpro.console.layout import console_router, url
from zenpro.console.organizations import org_section
from zenpro.console.paging import Offset, pager, params
from zenpro.console.widgets import empty, form_errors, link, select, text_field, when
from zenpro.deps import DB
from zenpro.kit.pagination import fetch_page
from zenpro.kit.schemas import TEXT_PATTERN
from zenpro.models import AuditEvent, Organization
from zenpro.organizations import repository as org_repo
from zenpro.organizations import service as orgs
from zenpro.organizations.deps import MemberRead

router = console_router()
ORDER = (AuditEvent.created.desc(), AuditEvent.id)
Text = Annotated[str | None, Query(max_length=64, pattern=TEXT_PATTERN, description="Filter.")]
ACTIONS = (("", "Any action"), ("create", "Created"), ("update", "Updated"), ("delete", "Deleted"))


class AuditQuery(BaseModel):
    """The filter form; the API's filters (``audit.repository.AuditFilter``)."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["create", "update", "delete"] | None = None
    resource_type: str | None = Field(None, max_length=64, pattern=TEXT_PATTERN)
    actor_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None


def _utc(moment: datetime | None) -> datetime | None:
    """The form's times are UTC (the labels say so)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _object_link(request: Request, org: Organization, e: AuditEvent) -> Markup:
    rid = e.resource_id
    base = f"/console/organizations/{org.id}"
    paths = {
        "organizations": base,
        "workspaces": f"/console/workspaces/{rid}",
        "roles": f"{base}/roles/{rid}",
        "invitations": f"{base}/members",
        "role_assignments": f"{base}/members",
        "teams": f"{base}/members",
        "team_members": f"{base}/members",
    }
    label = e.resource_type.replace("_", " ")
    path = paths.get(e.resource_type)
    if path is None or rid is None:
        return h("$l", l=label)
    return link(request, path, f"{label} {rid[:8]}")


def _changes(e: AuditEvent) -> Markup:
    if not e.changes:
        return Markup("")
    text = json.dumps(e.changes, default=str, sort_keys=True)
    short = text if len(text) <= 240 else text[:239] + "…"
    return h('<pre class="changes">$t</pre>', t=short)


def _row(request: Request, org: Organization, e: AuditEvent, names: dict[Any, str]) -> Markup:
    actor = names.get(e.actor_id, e.actor_type) if e.actor_id else e.actor_type
    return h(
        '<tr><td data-label="When">$w</td><td data-label="Actor">$a</td>'
        '<td data-label="Action">$ac</td><td data-label="Object">$o</td>'
        '<td data-label="Changes">$c</td></tr>',
        w=when(e.created),
        a=actor,
        ac=e.action,
        o=_object_link(request, org, e),
        c=_changes(e),
    )


async def _actors(db: DB, org: Organization) -> list[tuple[str, str]]:
    users = await orgs.member_users(db, org)
    return [("", "Anyone")] + [(str(u.id), u.username) for u in users]


def _filter_form(
    request: Request, org: Organization, form: Form, actors: list[tuple[str, str]]
) -> Markup:
    fields = join(
        [
            select(form, "actor_id", "Actor", actors),
            select(form, "action", "Action", ACTIONS),
            text_field(form, "resource_type", "Object type (e.g. workspaces)"),
            text_field(form, "since", "From (UTC)", kind="datetime-local"),
            text_field(form, "until", "Until (UTC)", kind="datetime-local"),
        ]
    )
    return h(
        '<form method="get" action="$a" class="filters" role="search">$f'
        '<div class="actions"><button type="submit" class="secondary">Filter</button></div></form>',
        a=url(request, f"/console/organizations/{org.id}/audit"),
        f=fields,
    )


@router.get("/console/organizations/{organization_id}/audit")
async def console_audit(
    request: Request,
    db: DB,
    scoped: MemberRead,
    offset: Offset = 0,
    actor_id: Text = None,
    action: Text = None,
    resource_type: Text = None,
    since: Text = None,
    until: Text = None,
) -> Response:
    """The audit trail of an organization, filtered."""
    org = scoped.obj
    raw = {"actor_id": actor_id, "action": action, "resource_type": resource_type}
    raw |= {"since": since, "until": until}
    form = Form({k: v for k, v in raw.items() if v})
    query = forms.parse(form, AuditQuery, {k: forms.optional(v or "") for k, v in raw.items()})
    actors = await _actors(db, org)
    listing: Markup
    if query is None:
        listing = Markup("")
    else:
        f = audit_repo.AuditFilter(
            query.action, query.resource_type, query.actor_id, _utc(query.since), _utc(query.until)
        )
        events, total = await fetch_page(
            db, audit_repo.list_stmt(org.id, f), params(offset), *ORDER
        )
        names = {uuid.UUID(v): n for v, n in actors if v}
        missing = {e.actor_id for e in events if e.actor_id and e.actor_id not in names}
        names |= {u.id: u.username for u in (await org_repo.users_by_id(db, missing)).values()}
        if events:
            listing = h(
                '<table><caption class="vh">Audit events, newest first</caption><thead><tr>'
                '<th scope="col">When</th><th scope="col">Actor</th><th scope="col">Action</th>'
                '<th scope="col">Object</th><th scope="col">Changes</th></tr></thead>'
                "<tbody>$rows</tbody></table>$pager",
                rows=join(_row(request, org, e, names) for e in events),
                pager=pager(
                    request, f"/console/organizations/{org.id}/audit", offset, total, **form.values
                ),
            )
        else:
            listing = empty("No event matches these filters.")
    parts = [form_errors(form, None), _filter_form(request, org, form, actors), listing]
    status = 200 if query is not None else 400
    return org_section(request, scoped.access, org, "Audit trail", parts, {"status": status})
