"""No path to more power than you hold: the one rule every granting operation checks.

A principal may never cause anyone (themselves included) to hold a permission pair that
the principal does not hold in that scope. Every operation that grants calls
:func:`require` with what it is about to hand out:

- a role assignment (to a user, a team or an invitation): the role's pairs at its scope;
- an invitation's role: that role at organization scope;
- a custom role's creation and every permission it gains in an edit: the new pairs at
  every scope the role is assigned at, and at the editor's own level;
- a team membership (of a user or an invitation): everything the team holds;
- a key for a service account (create, rotate, reactivate): everything the account holds;
- a share (``/rbac/resource_members``): the shared actions on that resource.

A workspace or project grant also confers membership of the workspace (and read on the
project), so it needs an actor who has those too. Shares are per resource: the sharing
user must be allowed each shared action on it by the checker itself (workspace authority
does not count there).

What "held" means at each scope (spec §6):

- **organization** pairs are held through organization-level roles in that organization;
- **workspace** pairs in a workspace are held through workspace-level roles there, and
  **project** pairs also through project-level roles for that project;
- an organization role that may both manage members (``member:update``) and update
  workspaces (``workspace:update``) — Organization Admin and Manager — *administers*
  every workspace of its organization and counts as holding every workspace and project
  pair there: the spec lets an Organization Admin reach workspace resources by assigning
  themselves a workspace role. It never counts for organization pairs, so it cannot be
  turned into more organization power;
- a superuser holds everything.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from zenpro.authz.checker import Grant, Grants
from zenpro.authz.resources import Resource
from zenpro.authz.vocabulary import Level, Pair
from zenpro.errors import Forbidden

WORKSPACE_AUTHORITY: frozenset[Pair] = frozenset({("member", "update"), ("workspace", "update")})


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a grant applies: an organization, one of its workspaces, or a project."""

    organization_id: uuid.UUID
    workspace_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None

    @property
    def level(self) -> Level:
        if self.workspace_id is None:
            return Level.organization
        return Level.workspace if self.project_id is None else Level.project

    @classmethod
    def of(cls, grant: Grant) -> Scope:
        return cls(grant.organization_id, grant.workspace_id, grant.project_id)


def administers_workspaces(grants: Grants, org_id: uuid.UUID) -> bool:
    """True when an organization role lets the caller administer every workspace of it."""
    return grants.superuser or grants.pairs_at(org_id) >= WORKSPACE_AUTHORITY


def held(grants: Grants, scope: Scope) -> frozenset[Pair] | None:
    """The pairs held at ``scope``; None means every pair (superuser, or workspace
    authority at a workspace or project scope)."""
    if grants.superuser:
        return None
    if scope.level is Level.organization:
        return frozenset(grants.pairs_at(scope.organization_id))
    if administers_workspaces(grants, scope.organization_id):
        return None
    out: set[Pair] = set()
    for g in grants.grants:
        if g.workspace_id != scope.workspace_id:
            continue
        if g.level is Level.workspace or (
            g.level is Level.project and g.project_id == scope.project_id
        ):
            out |= g.pairs
    return frozenset(out)


def missing(grants: Grants, scope: Scope, pairs: Iterable[Pair]) -> set[Pair]:
    have = held(grants, scope)
    return set() if have is None else set(pairs) - have


def require(grants: Grants, scope: Scope, pairs: Iterable[Pair], what: str) -> None:
    """Raise 403 unless ``grants`` hold every pair at ``scope``. ``what`` names the grant
    in the message ("the role 'Ops'", "the team 'admins'").

    A workspace or project grant hands out more than its pairs: membership of the
    workspace (its ZenML server lets members log in) and, at project scope, read on that
    project. So even an empty role there needs an actor who belongs to the workspace
    (and may read the project), unless they administer every workspace anyway."""
    if scope.level is not Level.organization and held(grants, scope) is not None:
        _require_presence(grants, scope, what)
    lacking = missing(grants, scope, pairs)
    if lacking:
        raise Forbidden(_message(what, lacking, scope))


def _require_presence(grants: Grants, scope: Scope, what: str) -> None:
    assert scope.workspace_id is not None  # not an organization scope
    if not grants.in_workspace(scope.workspace_id):
        raise Forbidden(f"You cannot grant {what} in a workspace you do not belong to")
    project = Resource("project", scope.project_id)
    if scope.project_id is not None and not grants.resource_allowed(
        scope.workspace_id, project, "read"
    ):
        raise Forbidden(f"You cannot grant {what} in a project you may not read")


def _message(what: str, lacking: set[Pair], scope: Scope) -> str:
    sample = ", ".join(f"{t}:{a}" for t, a in sorted(lacking)[:3])
    more = f" and {len(lacking) - 3} more" if len(lacking) > 3 else ""
    where = {
        Level.organization: "in this organization",
        Level.workspace: "in this workspace",
        Level.project: "in this project",
    }[scope.level]
    return (
        f"You cannot grant {what}: it holds more than you do {where} "
        f"({sample}{more}); nobody may give a permission they do not hold"
    )


def require_definable(grants: Grants, org_id: uuid.UUID, level: Level, pairs: set[Pair]) -> None:
    """A custom role may only list what its author could grant: organization pairs the
    author holds, or (workspace and project roles) workspace authority in the org."""
    if level is Level.organization:
        require(grants, Scope(org_id), pairs, "these permissions")
    elif pairs and not administers_workspaces(grants, org_id):
        raise Forbidden(
            "Only an organization role that manages members and workspaces (Organization "
            "Admin or Manager) may define workspace or project permissions"
        )


def require_subject(actor: Grants, subject: Grants, what: str) -> None:
    """The actor must hold everything ``subject`` holds (its grants at every scope), e.g.
    to mint a key for a service account, which then acts with all of that."""
    if subject.superuser and not actor.superuser:
        raise Forbidden(f"You cannot act for {what}: it is a superuser")
    for g in subject.grants:
        require(actor, Scope.of(g), g.pairs, what)


def require_share(
    actor: Grants,
    actor_shares: frozenset[tuple[str, uuid.UUID, str]],
    workspace_id: uuid.UUID,
    resource: Resource,
    actions: Iterable[str],
) -> None:
    """Sharing a resource: the sharing user must be allowed every shared action on it."""
    lacking = sorted(
        a for a in actions if not actor.resource_allowed(workspace_id, resource, a, actor_shares)
    )
    if lacking:
        raise Forbidden(
            f"The sharing user may not {', '.join(lacking)} this resource, so cannot share it"
        )
