"""The pictures: an organization's workspaces by status and the usage their servers
report, and the audit trail's activity per day; SVG drawn on the server, each with a title,
a description and its numbers as a table."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.console.support import Person, text_of
from tests.console.test_pages import _org_and_workspace, ann
from zenpro.kit.db import utcnow
from zenpro.models import Workspace

__all__ = ["ann"]  # the fixture


def _figure(html: str, ident: str) -> str:
    found = re.search(
        rf'<figure class="chart"><svg role="img" aria-labelledby="{ident}-t '
        rf'{ident}-d".*?</figure>',
        html,
        re.S,
    )
    assert found, f"no chart {ident}"
    return found.group(0)


async def test_the_overview_draws_status_and_reported_usage(ann: Person, db: AsyncSession) -> None:
    _, base, ws_path = await _org_and_workspace(ann, "ws-pic")
    await ann.post(f"{base}/workspaces", {"name": "ws-pic-2"})
    ws_id = uuid.UUID(ws_path.rsplit("/", 1)[1])
    counts = {"pipeline_run": 7, "step_run": 31}
    await db.execute(update(Workspace).where(Workspace.id == ws_id).values(usage_counts=counts))
    await db.commit()
    page = await ann.get(base)
    status = _figure(page.text, "c-status")
    assert '<title id="c-status-t">Workspaces by status</title>' in status
    words = text_of(status)
    assert "2 workspace(s)" in words
    assert re.search(r"Status Workspaces (Pending|Available|Not initialized) \d", words)
    usage = text_of(_figure(page.text, "c-usage"))
    assert "Totals by feature: pipeline_run 7, step_run 31." in usage
    assert "Feature Count pipeline_run 7 step_run 31" in usage  # the table alternative


async def test_the_audit_trail_draws_activity_per_day(ann: Person) -> None:
    _, base, _ = await _org_and_workspace(ann, "ws-act")
    trail = await ann.get(f"{base}/audit")
    chart = text_of(_figure(trail.text, "c-activity"))
    today = utcnow().date().isoformat()
    assert f"the busiest day was {today}" in chart
    assert re.search(rf"{today} [1-9]\d*$", chart.split("as a table")[1].strip())
    filtered = await ann.get(f"{base}/audit", action="delete")
    assert "0 event(s)" in text_of(_figure(filtered.text, "c-activity"))


async def test_the_logo_is_validated_as_the_api_does_and_shown(ann: Person) -> None:
    _, base, _ = await _org_and_workspace(ann, "ws-logo")
    bad = await ann.post(
        f"{base}/settings", {"name": "Acme Labs", "logo_url": "javascript:alert(1)"}
    )
    assert bad.status_code == 400
    assert 'aria-invalid="true"' in bad.text
    assert 'value="javascript:alert(1)"' in bad.text  # kept, to correct
    logo = "https://cdn.example.com/acme/logo.png?v=2"
    saved = await ann.post(
        f"{base}/settings", {"name": "Acme Labs", "display_name": "ACME", "logo_url": logo}
    )
    assert saved.status_code == 200
    assert 'alt="Logo of ACME"' in saved.text
    page = await ann.get(base)
    assert f'<img class="logo" src="{logo.replace("&", "&amp;")}" alt=""' in page.text
    csp = page.headers["content-security-policy"]
    assert "img-src 'self' data: https://cdn.example.com;" in csp
    assert "script-src 'self';" in csp  # nothing else widened
    # The title and the breadcrumb name the organization alike (its display name).
    assert "<title>ACME · zenpro console</title>" in page.text
    assert '<span aria-current="page">ACME</span>' in page.text
    members = await ann.get(f"{base}/members")
    assert f'<a href="{base}">ACME</a>' in members.text
    assert "<title>Members of ACME · zenpro console</title>" in members.text
    # An address the CSP cannot name safely is kept but not shown.
    odd = "https://a;b'c.example.com/logo.png"
    kept = await ann.post(f"{base}/settings", {"name": "Acme Labs", "logo_url": odd})
    assert kept.status_code == 200
    plain = await ann.get(base)
    assert 'class="logo"' not in plain.text
    assert "img-src 'self' data:;" in plain.headers["content-security-policy"]
