"""/users/me/api_keys: personal access tokens (``ZENPROKEY_…``), shown once."""

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
from zenpro.auth.deps import CurrentHuman
from zenpro.auth.principal import UserPrincipal
from zenpro.deps import DB
from zenpro.errors import BadRequest, NotFound, error_responses
from zenpro.kit.pagination import Paged
from zenpro.kit.schemas import Empty
from zenpro.models import APIKey

router = routing.router(prefix="/users/me/api_keys", tags=["api keys"])


def _me(actor: UserPrincipal) -> uuid.UUID:
    return actor.user_id


@router.get("", response_model=list[APIKeyRead])
async def list_my_api_keys(db: DB, actor: CurrentHuman, paging: Paged) -> list[APIKey]:
    """List my API keys

    Personal access tokens of the current user; never the secrets. Bare JSON array, oldest
    first; `X-Total-Count` and `Link` headers.
    """
    return await paging.fetch(db, keys.keys_stmt(_me(actor)), APIKey.created, APIKey.id)


@router.post(
    "",
    status_code=201,
    responses=error_responses(BadRequest),
)
async def create_my_api_key(db: DB, actor: CurrentHuman, body: APIKeyCreate) -> APIKeyWithSecret:
    """Create a personal access token

    Returns the `ZENPROKEY_` secret once, in `key`. Use it as a Bearer token, or exchange it at
    `POST /auth/login` (form `password=<key>`).
    """
    new = await keys.create_key(db, _me(actor), body, keys.Source.of(actor))
    return APIKeyWithSecret.of(new.key, new.secret)


@router.patch(
    "/{key_id}",
    response_model=APIKeyRead,
    responses=error_responses(NotFound, BadRequest),
)
async def update_my_api_key(
    db: DB, actor: CurrentHuman, key_id: uuid.UUID, body: APIKeyUpdate
) -> APIKey:
    """Update one of my API keys

    Rename, describe, deactivate/reactivate or set a new lifetime.
    """
    return await keys.update_key(db, _me(actor), key_id, body)


@router.delete("/{key_id}", responses=error_responses(NotFound))
async def delete_my_api_key(db: DB, actor: CurrentHuman, key_id: uuid.UUID) -> Empty:
    """Delete one of my API keys

    The key stops working at once.
    """
    await keys.delete_key(db, _me(actor), key_id)
    return Empty()


@router.post("/{key_id}/rotate", responses=error_responses(NotFound, BadRequest))
async def rotate_my_api_key(
    db: DB,
    actor: CurrentHuman,
    key_id: uuid.UUID,
    body: Annotated[APIKeyRotate | None, Body()] = None,
) -> APIKeyWithSecret:
    """Rotate one of my API keys

    A new secret, shown once; the old one keeps working for `retain_period_minutes`.
    """
    new = await keys.rotate_key(db, _me(actor), key_id, body or APIKeyRotate())
    return APIKeyWithSecret.of(new.key, new.secret)
