"""Which writes move which cache epoch (``kit.cache``): the domain's half of invalidation.

table -> (epochs it affects, whether an INSERT affects them, UPDATE columns that do not).
A write to a table not listed here moves nothing. ``create_app`` hands these to
``kit.cache.install`` with the counters table.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from zenpro.kit.cache import AUTH, EVERYTHING, GRANTS, Rule

RULES: dict[str, Rule] = {
    "tokens": (frozenset({AUTH}), False, frozenset({"last_used"})),
    "api_keys": (frozenset({AUTH}), False, frozenset({"last_used", "updated"})),
    "devices": (frozenset({AUTH}), False, frozenset({"last_poll"})),
    "users": (frozenset({AUTH, GRANTS}), False, frozenset({"updated"})),
    "workspaces": (
        frozenset({AUTH, GRANTS}),
        False,
        frozenset(
            {
                "usage_counts",
                "server_url",
                "server_version",
                "status_updated",
                "updated",
                "display_name",
                "description",
                "logo_url",
                "enrollment_key_hash",
            }
        ),
    ),
    # a deleted organization takes its workspaces, their machine tokens and its service
    # accounts with it (ON DELETE CASCADE): credentials too
    "organizations": (
        frozenset({AUTH, GRANTS}),
        False,
        frozenset({"display_name", "description", "logo_url", "updated", "name"}),
    ),
    "role_assignments": (frozenset({GRANTS}), True, frozenset()),
    "role_permissions": (frozenset({GRANTS}), True, frozenset()),
    "roles": (frozenset({GRANTS}), True, frozenset({"updated", "description", "name"})),
    "team_members": (frozenset({GRANTS}), True, frozenset()),
    "teams": (frozenset({GRANTS}), True, frozenset({"updated", "description", "name"})),
    "shares": (frozenset({GRANTS}), True, frozenset()),
}


# What a write to a table touches, for the ``grants`` epoch: the scopes whose cached
# entries it may change (``kit.cache``). A cached user's grants are tagged with the user,
# every organization and workspace they belong to and every role they hold
# (``Grants.cache_tags``); a workspace's shares of a user with the workspace and the user.
# A table not listed here, a bulk statement without ``cache_scopes`` and anything these
# cannot name touch everything (``*``): a share with a team (it gives its members a
# workspace), and organizations and teams, whose deletion removes memberships, shares,
# tokens and service accounts by ON DELETE CASCADE, which no row of theirs can name.
def user_scope(user_id: uuid.UUID) -> str:
    return f"u:{user_id}"


def org_scope(org_id: uuid.UUID) -> str:
    return f"o:{org_id}"


def workspace_scope(workspace_id: uuid.UUID) -> str:
    return f"w:{workspace_id}"


def role_scope(role_id: uuid.UUID) -> str:
    return f"r:{role_id}"


def share_scopes(workspace_id: uuid.UUID, user_id: uuid.UUID | None) -> frozenset[str]:
    """A share with a user: that user in that workspace; with a team: everything."""
    if user_id is None:
        return EVERYTHING
    return frozenset({workspace_scope(workspace_id), user_scope(user_id)})


def _assignment(a: Any) -> frozenset[str]:
    # a team's assignment reaches its members, who belong to the team's organization
    subject = {user_scope(a.user_id)} if a.user_id is not None else set()
    return frozenset({org_scope(a.organization_id), *subject})


SCOPES: dict[str, Callable[[Any], frozenset[str]]] = {
    "users": lambda u: frozenset({user_scope(u.id)}),
    "workspaces": lambda w: frozenset({workspace_scope(w.id), org_scope(w.organization_id)}),
    "role_assignments": _assignment,
    "role_permissions": lambda p: frozenset({role_scope(p.role_id)}),
    "roles": lambda r: frozenset({role_scope(r.id)}),
    # an invitation's team membership reaches nobody until it is accepted
    "team_members": lambda m: frozenset({user_scope(m.user_id)} if m.user_id else ()),
    "shares": lambda s: share_scopes(s.workspace_id, s.user_id),
}
