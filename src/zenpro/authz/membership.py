"""Who belongs where, as composable SELECTs (the one place membership is spelled out).

A user belongs to an organization when they hold any role assignment in it, directly or
through a team, at any scope, or are one of its service accounts.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select, union

from zenpro.models import RoleAssignment, Team, TeamMember, User


def team_ids_of(user_id: uuid.UUID) -> Select[Any]:
    return select(TeamMember.team_id).where(TeamMember.user_id == user_id)


def org_ids_of(user_id: uuid.UUID) -> Any:
    """Organizations the user belongs to."""
    return union(
        select(RoleAssignment.organization_id).where(RoleAssignment.user_id == user_id),
        select(RoleAssignment.organization_id).where(
            RoleAssignment.team_id.in_(team_ids_of(user_id))
        ),
        select(Team.organization_id).where(Team.id.in_(team_ids_of(user_id))),
        select(User.organization_id).where(User.id == user_id, User.organization_id.isnot(None)),
    )


def user_ids_in_orgs(org_ids: Any) -> Any:
    """Users who belong to any of ``org_ids`` (a SELECT of organization ids)."""
    team_ids = select(Team.id).where(Team.organization_id.in_(org_ids))
    return union(
        select(RoleAssignment.user_id).where(
            RoleAssignment.organization_id.in_(org_ids), RoleAssignment.user_id.isnot(None)
        ),
        select(TeamMember.user_id).where(
            TeamMember.team_id.in_(team_ids), TeamMember.user_id.isnot(None)
        ),
        select(User.id).where(User.organization_id.in_(org_ids)),
    )
