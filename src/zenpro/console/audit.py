"""An organization's audit trail, newest first, filtered by actor, action, object type and
time; each event links to its object. For those who read its members, as in the API
(``GET /organizations/{id}/audit_events``)."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func

from zenpro.audit import repository as audit_repo
from zenpro.console import charts, forms
from zenpro.console.forms import Form
from zenpro.console.html import Markup, h, join
from zenpro.console.layout import console_router, url
from zenpro.console.organizations import org_section
from zenpro.console.paging import Offset, pager, params
from zenpro.console.widgets import empty, form_errors, link, select, text_field, when
from zenpro.deps import DB
from zenpro.kit.db import utcnow
from zenpro.kit.pagination import fetch_page
from zenpro.kit.schemas import TEXT_PATTERN, IsoTime
from zenpro.models import AuditEvent, Organization
from zenpro.organizations import repository as org_repo
from zenpro.organizations import service as orgs
from zenpro.organizations.deps import MemberRead

router = console_router()
Text = Annotated[str | None, Query(max_length=64, pattern=TEXT_PATTERN, description="Filter.")]
ACTIONS = (("", "Any action"), ("create", "Created"), ("update", "Updated"), ("delete", "Deleted"))


class AuditQuery(BaseModel):
    """The filter form; the API's filters (``audit.repository.AuditFilter``)."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["create", "update", "delete"] | None = None
    resource_type: str | None = Field(None, max_length=64, pattern=TEXT_PATTERN)
    actor_id: uuid.UUID | None = None
    # the form's times are UTC (the labels say so); one leaving the calendar once in UTC
    # is the client's to fix (kit.schemas.IsoTime)
    since: IsoTime | None = None
    until: IsoTime | None = None


def _object_link(request: Request, org: Organization, e: AuditEvent) -> Markup:
    rid = e.resource_id
    base = f"/console/organizations/{org.id}"
    paths = {
        "organizations": base,
        "workspaces": f"/console/workspaces/{rid}",
        "roles": f"{base}/roles/{rid}",
        "invitations": f"{base}/members",
        "role_assignments": f"{base}/members",
        "teams": f"/console/teams/{rid}",
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


DAYS = 30


async def _activity(db: DB, org: Organization, f: audit_repo.AuditFilter) -> Markup:
    """Events a day (as filtered) over the last :data:`DAYS` days of the filter's range,
    as a chart: one grouped statement."""
    end = f.until or utcnow()
    if end.year < 2:  # nothing happened in the first month of year 1 (and it cannot go back)
        return Markup("")
    start = max(f.since or end - timedelta(days=DAYS), end - timedelta(days=DAYS))
    if start >= end:
        return Markup("")
    day = func.date(AuditEvent.created)
    stmt = (
        audit_repo.list_stmt(org.id, replace(f, since=start, until=f.until))
        .with_only_columns(day, func.count())
        .group_by(day)
    )
    counts = {str(d)[:10]: int(n) for d, n in (await db.execute(stmt)).all()}
    first = start.date()
    days = [first + timedelta(days=i) for i in range((end.date() - first).days + 1)]
    items = [(d.isoformat(), counts.get(d.isoformat(), 0)) for d in days]
    total = sum(n for _, n in items)
    busiest = max(items, key=lambda kv: kv[1])
    described = f"{total} event(s) from {items[0][0]} to {items[-1][0]}" + (
        f"; the busiest day was {busiest[0]} with {busiest[1]}." if total else "."
    )
    return charts.columns(
        "c-activity", "Activity per day (UTC)", described, items, ("Day", "Events")
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
            query.action, query.resource_type, query.actor_id, query.since, query.until
        )
        listed = await fetch_page(
            db, audit_repo.list_stmt(org.id, f), params(offset), *audit_repo.ORDER
        )
        events: list[AuditEvent] = listed.items
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
                    request, f"/console/organizations/{org.id}/audit", offset, listed, **form.values
                ),
            )
        else:
            listing = empty("No event matches these filters.")
    activity = Markup("") if query is None else await _activity(db, org, f)
    parts = [
        form_errors(form, None),
        _filter_form(request, org, form, actors),
        activity,
        listing,
    ]
    status = 200 if query is not None else 400
    return org_section(request, scoped.access, org, "Audit trail", parts, {"status": status})
