"""The service functions the console added: the roles an inviter may offer, an
organization's users for pickers, one member, and the invitations addressed to me."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.authz import assign, make_org
from tests.fixtures.factories import make_user
from zenpro.auth.principal import Credential, UserPrincipal
from zenpro.authz.access import Access
from zenpro.authz.checker import load_grants
from zenpro.invitations import service as invitations
from zenpro.kit.db import utcnow
from zenpro.models import Invitation, User
from zenpro.organizations import service as orgs

ORG_MANAGER_ID = uuid.UUID("00000000-0000-4000-8000-000000000002")


async def _access(db: AsyncSession, user: User) -> Access:
    principal = UserPrincipal.of(user, Credential.session)
    return Access(principal, await load_grants(db, principal))


async def test_an_inviter_is_offered_only_roles_within_what_they_hold(db: AsyncSession) -> None:
    owner = await make_user(db, "own")
    org = await make_org(db, owner)
    manager = await make_user(db, "mgr")
    await assign(db, ORG_MANAGER_ID, org, user=manager)
    everything = {
        r.name for r in await invitations.offerable_roles(db, await _access(db, owner), org)
    }
    assert {"Organization Admin", "Organization Member", "Organization Viewer"} <= everything
    assert "Workspace Admin" not in everything  # organization-level roles only
    lesser = {
        r.name for r in await invitations.offerable_roles(db, await _access(db, manager), org)
    }
    assert "Organization Admin" not in lesser  # a Manager holds no delete: cannot grant Admin
    assert "Organization Member" in lesser
    assert lesser < everything


async def test_member_users_lists_its_users_by_name_within_the_limit(db: AsyncSession) -> None:
    owner = await make_user(db, "zed")
    org = await make_org(db, owner)
    amy = await make_user(db, "amy")
    await assign(db, ORG_MANAGER_ID, org, user=amy)
    outsider = await make_user(db, "out")
    assert outsider.id not in {u.id for u in await orgs.member_users(db, org)}
    assert [u.username for u in await orgs.member_users(db, org)] == ["amy", "zed"]
    assert [u.username for u in await orgs.member_users(db, org, limit=1)] == ["amy"]


async def test_pending_mine_lists_only_what_get_mine_would_open(db: AsyncSession) -> None:
    owner = await make_user(db, "host")
    org = await make_org(db, owner)
    guest = await make_user(db, "guest", email="Guest@Example.com")
    fresh = Invitation(
        organization_id=org.id,
        email="guest@example.com",
        inviter_id=owner.id,
        expires=utcnow() + timedelta(days=1),
    )
    stale = Invitation(
        organization_id=org.id,
        email="GUEST@example.com",
        inviter_id=owner.id,
        expires=utcnow() - timedelta(minutes=1),
    )
    db.add_all([fresh, stale])
    await db.flush()
    assert [(i.id, name) for i, name in await invitations.pending_mine(db, guest)] == [
        (fresh.id, org.name)
    ]  # any case of the address; not the expired one
    guest.email_verified = False  # get_mine refuses it then: so is it not listed
    assert await invitations.pending_mine(db, guest) == []


async def test_member_user_finds_members_only(db: AsyncSession) -> None:
    owner = await make_user(db, "boss")
    org = await make_org(db, owner)
    outsider = await make_user(db, "stranger")
    found = await orgs.member_user(db, org, owner.id)
    assert found is not None
    assert found.id == owner.id
    assert await orgs.member_user(db, org, outsider.id) is None
