"""Guards for /teams/{team_id}.

Team visibility needs one query (is the caller in the team?), so these guards follow the
``resource_guard`` contract by hand: invisible → 404, visible but not allowed → 403.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends

from zenpro.authz.guards import Authenticated, Scoped, Target, guard, parse_uuid
from zenpro.deps import DB
from zenpro.errors import Forbidden, NotFound, raises
from zenpro.kit.params import TeamRef
from zenpro.models import Team
from zenpro.teams import repository as repo
from zenpro.teams.service import can_see


def team_guard(action: str) -> Callable[..., Awaitable[Scoped[Team]]]:
    async def dependency(db: DB, access: Authenticated, team_id: TeamRef) -> Scoped[Team]:
        tid = parse_uuid(team_id)
        team = await repo.get(db, tid) if tid is not None else None
        if team is None or not await can_see(db, access, team):
            raise NotFound(f"Team {team_id!r} not found")
        if action != "read" and not access.grants.org_allows(team.organization_id, "team", action):
            raise Forbidden(f"You may not {action} this team")
        return Scoped(access, Target(team, team.organization_id))

    dependency.__name__ = f"guard_team_{action}"
    return guard(raises(NotFound, Forbidden)(dependency))


TeamRead = Annotated[Scoped[Team], Depends(team_guard("read"))]
TeamUpdate = Annotated[Scoped[Team], Depends(team_guard("update"))]
TeamDelete = Annotated[Scoped[Team], Depends(team_guard("delete"))]
