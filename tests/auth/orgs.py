"""Organization/workspace rows for credential tests, straight through the ORM."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.auth.secrets import ENROLLMENT_PREFIX, hash_secret, new_secret
from zenpro.authz.vocabulary import ORG_ADMIN_ID, ORG_MEMBER_ID, WORKSPACE_VIEWER_ID
from zenpro.models import Organization, RoleAssignment, User, Workspace


async def make_org(db: AsyncSession, owner: User, name: str | None = None) -> Organization:
    org = Organization(name=name or f"org-{uuid.uuid4().hex[:8]}", owner_id=owner.id)
    db.add(org)
    await db.flush()
    await assign(db, owner, org, ORG_ADMIN_ID)
    return org


async def make_workspace(
    db: AsyncSession, org: Organization, owner: User, name: str | None = None
) -> tuple[Workspace, str]:
    """An enrolled (external) workspace and its raw enrollment key."""
    key = new_secret(ENROLLMENT_PREFIX)
    ws = Workspace(
        name=name or f"ws-{uuid.uuid4().hex[:8]}",
        organization_id=org.id,
        owner_id=owner.id,
        is_managed=False,
        enrollment_key_hash=hash_secret(key),
        status="pending",
        desired_state="available",
        usage_counts={},
    )
    db.add(ws)
    await db.commit()
    return ws, key


async def assign(
    db: AsyncSession,
    user: User,
    org: Organization,
    role_id: uuid.UUID = ORG_MEMBER_ID,
    workspace: Workspace | None = None,
) -> RoleAssignment:
    ws_id = workspace.id if workspace else None
    ra = RoleAssignment(
        role_id=role_id,
        user_id=user.id,
        organization_id=org.id,
        workspace_id=ws_id,
        scope_key=RoleAssignment.make_scope_key(
            role_id, organization_id=org.id, user_id=user.id, workspace_id=ws_id
        ),
    )
    db.add(ra)
    await db.commit()
    return ra


async def member_of(db: AsyncSession, user: User, org: Organization, ws: Workspace) -> None:
    """Org member with Workspace Viewer on ``ws``."""
    await assign(db, user, org, ORG_MEMBER_ID)
    await assign(db, user, org, WORKSPACE_VIEWER_ID, ws)
