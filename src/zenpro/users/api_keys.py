"""/users/me/api_keys: personal access tokens (``ZENPROKEY_…``), shown once."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Body

from zenpro import routing
from zenpro.auth import keys
from zenpro.auth.deps import CurrentHuman
from zenpro.auth.principal import UserPrincipal
from zenpro.auth.schemas import (
    APIKeyCreate,
    APIKeyRead,
    APIKeyRotate,
    APIKeyUpdate,
    APIKeyWithSecret,
)
from zenpro.deps import DB
from zenpro.errors import BadRequest, NotFound, error_responses
from zenpro.kit.schemas import Empty
from zenpro.models import APIKey

router = routing.router(prefix="/users/me/api_keys", tags=["api keys"])


def _me(actor: UserPrincipal) -> uuid.UUID:
    return actor.user_id


@router.get(
    "",
    response_model=list[APIKeyRead],
    summary="List my API keys",
    description="Personal access tokens of the current user; never the secrets.",
)
async def list_my_api_keys(db: DB, actor: CurrentHuman) -> list[APIKey]:
    return await keys.list_keys(db, _me(actor))


@router.post(
    "",
    status_code=201,
    summary="Create a personal access token",
    description="Returns the `ZENPROKEY_` secret once, in `key`. Use it as a Bearer token, "
    "or exchange it at `POST /auth/login` (form `password=<key>`).",
    responses=error_responses(BadRequest),
)
async def create_my_api_key(db: DB, actor: CurrentHuman, body: APIKeyCreate) -> APIKeyWithSecret:
    new = await keys.create_key(db, _me(actor), body, keys.Source.of(actor))
    return APIKeyWithSecret.of(new.key, new.secret)


@router.patch(
    "/{key_id}",
    response_model=APIKeyRead,
    summary="Update one of my API keys",
    description="Rename, describe, deactivate/reactivate or set a new lifetime.",
    responses=error_responses(NotFound, BadRequest),
)
async def update_my_api_key(
    db: DB, actor: CurrentHuman, key_id: uuid.UUID, body: APIKeyUpdate
) -> APIKey:
    return await keys.update_key(db, _me(actor), key_id, body)


@router.delete(
    "/{key_id}",
    summary="Delete one of my API keys",
    description="The key stops working at once.",
    responses=error_responses(NotFound),
)
async def delete_my_api_key(db: DB, actor: CurrentHuman, key_id: uuid.UUID) -> Empty:
    await keys.delete_key(db, _me(actor), key_id)
    return Empty()


@router.post(
    "/{key_id}/rotate",
    summary="Rotate one of my API keys",
    description="A new secret, shown once; the old one keeps working for `retain_period_minutes`.",
    responses=error_responses(NotFound, BadRequest),
)
async def rotate_my_api_key(
    db: DB,
    actor: CurrentHuman,
    key_id: uuid.UUID,
    body: Annotated[APIKeyRotate | None, Body()] = None,
) -> APIKeyWithSecret:
    new = await keys.rotate_key(db, _me(actor), key_id, body or APIKeyRotate())
    return APIKeyWithSecret.of(new.key, new.secret)
