"""/organizations/{organization_id}/service_accounts: org-owned accounts and their keys.

Guarded by the organization-level ``service_account`` permission (create/read/update/
delete); a caller outside the organization gets 404.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Body

from zenpro import routing
from zenpro.api_keys import service as keys
from zenpro.api_keys.schemas import (
    APIKeyCreate,
    APIKeyRead,
    APIKeyRotate,
    APIKeyUpdate,
    APIKeyWithSecret,
)
from zenpro.authz.guards import Scoped
from zenpro.deps import DB
from zenpro.errors import (
    BadRequest,
    Conflict,
    error_responses,
)
from zenpro.kit.pagination import Paged
from zenpro.kit.params import ServiceAccountRef
from zenpro.kit.schemas import Empty
from zenpro.models import APIKey, Organization, User
from zenpro.service_accounts import service
from zenpro.service_accounts.deps import Creator, Deleter, Reader, Updater
from zenpro.service_accounts.schemas import (
    ServiceAccountCreate,
    ServiceAccountRead,
    ServiceAccountUpdate,
)

LOGIN_NAME_RULE = (
    "`name` and `username` are one field, the login name (ZenML clients send `username`): "
    "if both are sent they must be equal (422 otherwise)."
)


router = routing.router(
    prefix="/organizations/{organization_id}/service_accounts",
    tags=["service accounts"],
)
SA = "/{sa_id_or_username}"
KEY = SA + "/api_keys/{key_id}"


def _org(scoped: Scoped[Organization]) -> uuid.UUID:
    return scoped.target.organization_id


@router.get(
    "",
    summary="List service accounts",
    response_model=list[ServiceAccountRead],
)
async def list_service_accounts(db: DB, scoped: Reader, paging: Paged) -> list[User]:
    """Bare JSON array, oldest first; `X-Total-Count` and `Link` headers."""
    return await paging.fetch(db, service.list_stmt(_org(scoped)), User.created, User.id)


@router.post(
    "",
    response_model=ServiceAccountRead,
    status_code=201,
    summary="Create a service account",
    description="It becomes an Organization Member; give it workspace roles to use ZenML. "
    f"{LOGIN_NAME_RULE}",
    responses=error_responses(BadRequest, Conflict),
)
async def create_service_account(db: DB, scoped: Creator, body: ServiceAccountCreate) -> User:
    return await service.create(db, _org(scoped), body)


@router.get(SA, response_model=ServiceAccountRead)
async def get_service_account(db: DB, scoped: Reader, sa_id_or_username: ServiceAccountRef) -> User:
    """Get a service account

    By id or name.
    """
    return await service.find(db, _org(scoped), sa_id_or_username)


@router.patch(
    SA,
    response_model=ServiceAccountRead,
    summary="Update a service account",
    description="`is_active: false` deactivates it: all its keys and tokens stop at once. "
    f"{LOGIN_NAME_RULE}",
    responses=error_responses(BadRequest, Conflict),
)
async def update_service_account(
    db: DB, scoped: Updater, sa_id_or_username: ServiceAccountRef, body: ServiceAccountUpdate
) -> User:
    sa = await service.find(db, _org(scoped), sa_id_or_username)
    return await service.update(db, sa, body)


@router.delete(SA, responses=error_responses(Conflict))
async def delete_service_account(
    db: DB, scoped: Deleter, sa_id_or_username: ServiceAccountRef
) -> Empty:
    """Delete a service account

    Deletes it with its keys, tokens and role assignments.
    """
    await service.delete(db, await service.find(db, _org(scoped), sa_id_or_username))
    return Empty()


@router.get(
    SA + "/api_keys",
    summary="List a service account's API keys",
    response_model=list[APIKeyRead],
)
async def list_service_account_api_keys(
    db: DB, scoped: Reader, sa_id_or_username: ServiceAccountRef, paging: Paged
) -> list[APIKey]:
    """Never the secrets. Bare JSON array, oldest first; `X-Total-Count` and `Link` headers."""
    sa = await service.find(db, _org(scoped), sa_id_or_username)
    return await paging.fetch(db, keys.keys_stmt(sa.id), APIKey.created, APIKey.id)


@router.post(
    SA + "/api_keys",
    status_code=201,
    responses=error_responses(BadRequest),
)
async def create_service_account_api_key(
    db: DB, scoped: Updater, sa_id_or_username: ServiceAccountRef, body: APIKeyCreate
) -> APIKeyWithSecret:
    """Create an API key for a service account

    Returns the `ZENPROKEY_` secret once, in `key`. The caller must hold everything the service
    account holds (its roles at every scope): a key acts with all of it. A key created through a
    delegated credential (device, API token or key) ends with that credential and expires no later.
    """
    sa = await service.find(db, _org(scoped), sa_id_or_username)
    await service.require_may_act_for(db, scoped.access, sa)
    new = await keys.create_key(db, sa.id, body, keys.Source.of(scoped.access.principal))
    return APIKeyWithSecret.of(new.key, new.secret)


@router.patch(
    KEY,
    summary="Update a service account's API key",
    response_model=APIKeyRead,
    responses=error_responses(BadRequest),
)
async def update_service_account_api_key(
    db: DB,
    scoped: Updater,
    sa_id_or_username: ServiceAccountRef,
    key_id: uuid.UUID,
    body: APIKeyUpdate,
) -> APIKey:
    sa = await service.find(db, _org(scoped), sa_id_or_username)
    if body.active:  # reactivating hands the key's power back out
        await service.require_may_act_for(db, scoped.access, sa)
    return await keys.update_key(db, sa.id, key_id, body)


@router.delete(KEY, summary="Delete a service account's API key")
async def delete_service_account_api_key(
    db: DB, scoped: Updater, sa_id_or_username: ServiceAccountRef, key_id: uuid.UUID
) -> Empty:
    sa = await service.find(db, _org(scoped), sa_id_or_username)
    await keys.delete_key(db, sa.id, key_id)
    return Empty()


@router.post(KEY + "/rotate", responses=error_responses(BadRequest))
async def rotate_service_account_api_key(
    db: DB,
    scoped: Updater,
    sa_id_or_username: ServiceAccountRef,
    key_id: uuid.UUID,
    body: Annotated[APIKeyRotate | None, Body()] = None,
) -> APIKeyWithSecret:
    """Rotate a service account's API key

    A new secret, shown once; the old one keeps working for `retain_period_minutes`.
    """
    sa = await service.find(db, _org(scoped), sa_id_or_username)
    await service.require_may_act_for(db, scoped.access, sa)
    new = await keys.rotate_key(db, sa.id, key_id, body or APIKeyRotate())
    return APIKeyWithSecret.of(new.key, new.secret)
