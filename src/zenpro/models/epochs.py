"""Which writes move which cache epoch (``kit.cache``): the domain's half of invalidation.

table -> (epochs it affects, whether an INSERT affects them, UPDATE columns that do not).
A write to a table not listed here moves nothing. ``create_app`` hands these to
``kit.cache.install`` with the counters table.
"""

from __future__ import annotations

from zenpro.kit.cache import AUTH, GRANTS, Rule

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
    "organizations": (
        frozenset({GRANTS}),
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
