"""Team pages: create (a 409 in place), members added and removed, rename, delete; a
Viewer reads teams but has no forms, and their posts are refused with nothing changed."""

from __future__ import annotations

import re
import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.console.support import (
    Person,
    assert_posts_refused,
    assert_read_only,
    assert_says,
    make_viewer,
    person,
    read_one,
    text_of,
)
from tests.console.test_pages import _org, ann
from zenpro.models import TeamMember

__all__ = ["ann"]  # the fixture


async def test_team_lifecycle_and_a_viewer_without_forms(
    ann: Person, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org_id = await _org(ann)
    base = f"/console/organizations/{org_id}/teams"
    made = await ann.post(base, {"name": "Platform"})
    assert made.status_code == 303
    team_path = made.headers["location"].split("?")[0]
    dup = await ann.post(base, {"name": "platform", "description": "kept"})
    assert_says(dup, 409, "already exists")
    assert ">kept</textarea>" in dup.text

    bo = await person(client, db, "bo")
    bo_id = str(bo.user.id)  # snapshot() expires the session's objects
    await make_viewer(db, org_id, bo)
    added = await ann.post(f"{team_path}/members/add", {"user_id": bo_id})
    assert added.status_code == 303
    page = await ann.get(team_path)
    assert bo.user.username in text_of(page.text)  # before any expiry
    twice = await ann.post(f"{team_path}/members/add", {"user_id": bo_id})
    assert_says(twice, 409, "already a member")

    assert_read_only(await bo.get(team_path))
    assert "New team" not in (await bo.get(base)).text
    posts = [
        (base, {"name": "Evil"}),
        (f"{team_path}/settings", {"name": "Pwned"}),
        (f"{team_path}/members/remove", {"user_id": bo_id}),
        (f"{team_path}/delete", {}),
    ]
    await assert_posts_refused(db, bo, posts)

    renamed = await ann.post(f"{team_path}/settings", {"name": "Platform Team"})
    assert renamed.status_code == 303
    assert "Platform Team" in (await ann.get(base)).text
    removed = await ann.post(f"{team_path}/members/remove", {"user_id": bo_id})
    assert removed.status_code == 303
    assert (
        await read_one(db, select(TeamMember).where(TeamMember.user_id == uuid.UUID(bo_id))) is None
    )
    gone = await ann.post(f"{team_path}/delete")
    assert gone.status_code == 303
    assert re.search(r"/teams\?notice=deleted$", gone.headers["location"])
    assert (await ann.get(team_path)).status_code == 404
