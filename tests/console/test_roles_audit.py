"""Roles (read-only, with the permission matrix) and the audit trail with its filters."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.console.support import ORG_VIEWER_ID, Person, forms_of, person, read_one, text_of
from tests.console.test_pages import _org, _org_and_workspace, ann
from tests.fixtures.authz import assign
from zenpro.authz.vocabulary import ORG_MEMBER_ID
from zenpro.models import Organization

__all__ = ["ann"]  # the fixture


async def _viewer(
    client: httpx.AsyncClient, db: AsyncSession, org_id: str, role: uuid.UUID
) -> Person:
    who = await person(client, db, "vic")
    org = await read_one(db, select(Organization).where(Organization.id == uuid.UUID(org_id)))
    await assign(db, role, org, user=who.user)
    return who


async def test_roles_are_listed_read_only_with_their_matrix(
    ann: Person, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org_id = await _org(ann)
    listing = await ann.get(f"/console/organizations/{org_id}/roles")
    assert listing.status_code == 200
    words = text_of(listing.text)
    assert "Organization Admin Organization System (read-only)" in words
    assert "Workspace Viewer Workspace" in words
    viewer_link = re.search(
        r'href="(/console/organizations/[^"]+/roles/[^"]+)"[^>]*>Organization Viewer<', listing.text
    )
    assert viewer_link
    member = await _viewer(client, db, org_id, ORG_MEMBER_ID)
    detail = await member.get(viewer_link.group(1))
    assert detail.status_code == 200
    matrix = text_of(detail.text)
    assert "A system (read-only) role at the organization level" in matrix
    # Columns create, read, update, delete: the Viewer reads all but billing.
    assert "workspace — Yes — —" in matrix
    assert "billing — — — —" in matrix
    assert forms_of(detail.text) == ["/console/logout"]
    other = await person(client, db, "other")
    theirs = await _org(other, "Other Org")
    assert (await member.get(f"/console/organizations/{theirs}/roles")).status_code == 404
    unknown = f"/console/organizations/{org_id}/roles/{uuid.uuid4()}"
    assert (await ann.get(unknown)).status_code == 404


async def test_audit_trail_filters_and_links(
    ann: Person, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org_id, base, ws_path = await _org_and_workspace(ann, "ws-audit")
    trail = await ann.get(f"{base}/audit")
    assert trail.status_code == 200
    assert f'href="{ws_path}"' in trail.text  # the event links to its object
    assert ann.user.username in text_of(trail.text)
    only = await ann.get(f"{base}/audit", resource_type="workspaces", action="create")
    words = text_of(only.text)
    assert "workspaces" in words
    assert "organizations" not in words.split("Changes", 1)[1]
    none = await ann.get(f"{base}/audit", action="delete")
    assert "No event matches these filters." in none.text
    later = await ann.get(f"{base}/audit", since="2999-01-01T00:00")
    assert "No event matches these filters." in later.text
    bad = await ann.get(f"{base}/audit", since="yesterday")
    assert bad.status_code == 400
    assert 'aria-invalid="true"' in bad.text
    assert 'value="yesterday"' in bad.text
    viewer = await _viewer(client, db, org_id, ORG_VIEWER_ID)
    assert (await viewer.get(f"{base}/audit")).status_code == 200
    member = await _viewer(client, db, org_id, ORG_MEMBER_ID)
    assert (await member.get(f"{base}/audit")).status_code == 403
    assert "Audit trail" not in (await member.get(base)).text


@pytest.mark.parametrize("until", ["0001-01-02T00:00:00Z", "9999-12-31T23:00:00-05:00"])
async def test_audit_times_at_the_calendars_ends_are_no_server_error(
    ann: Person, until: str
) -> None:
    """The first days of year 1 (the activity chart looks a month back) and a time that
    leaves the calendar once in UTC: an answer, or the client's error, never a 500."""
    org_id = await _org(ann)
    r = await ann.get(f"/console/organizations/{org_id}/audit", until=until)
    assert r.status_code in (200, 400), r.text[:300]
