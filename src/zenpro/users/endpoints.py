"""/users: accounts, self-service and administration (spec §3, §5)."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated

from fastapi import Body, Query, Response
from pydantic import ValidationError

from zenpro import routing
from zenpro.auth.deps import CurrentUser, OptionalPrincipal, Superuser
from zenpro.deps import DB
from zenpro.errors import BadRequest, Conflict, NotAuthenticated, NotFound, error_responses
from zenpro.kit.lookup import Loading
from zenpro.kit.pagination import Paged
from zenpro.kit.params import text_query
from zenpro.kit.schemas import TEXT_PATTERN, Empty
from zenpro.models import User
from zenpro.users import service
from zenpro.users.schemas import UserCreate, UserRead, UserUpdateAdmin, UserUpdateMe

router = routing.router(prefix="/users", tags=["users"])
HiddenQuery = partial(Query, include_in_schema=False)


@router.get("", response_model=list[UserRead])
async def list_users(
    db: DB,
    actor: CurrentUser,
    paging: Paged,
    email: Annotated[str | None, text_query("Exact email.", 320)] = None,
    username: Annotated[str | None, text_query("Exact username.", 255)] = None,
    name: Annotated[
        str | None, Query(max_length=255, pattern=TEXT_PATTERN, description="Name contains.")
    ] = None,
    is_service_account: Annotated[bool | None, Query(description="Only (non) SAs.")] = None,
) -> list[User]:
    """List users

    Superusers see every user; others see the users who share an organization with them. Bare JSON
    array; `X-Total-Count` and `Link` headers.
    """
    stmt = service.list_users(
        actor, email=email, username=username, name=name, is_service_account=is_service_account
    )
    items = await paging.fetch(db, stmt, User.created, User.id)
    return items


@router.post(
    "",
    response_model=UserRead,
    status_code=201,
    responses=error_responses(NotAuthenticated, BadRequest, Conflict),
    # The JSON form is the documented one: FastAPI would publish the body as optional
    # (it is, for the query form) and nullable, which only the query form makes valid.
    openapi_extra={"requestBody": {"required": True}},
)
async def create_user(
    db: DB,
    actor: OptionalPrincipal,
    # Typed as the schema publishes it (no null); None when no body came: the query form.
    body: Annotated[UserCreate, Body()] = None,  # type: ignore[assignment]
    username: Annotated[str | None, HiddenQuery(max_length=255)] = None,
    password: Annotated[str | None, HiddenQuery(max_length=256)] = None,
    email: Annotated[str | None, HiddenQuery(max_length=320)] = None,
    is_superuser: Annotated[bool | None, HiddenQuery()] = None,
) -> User:
    """Create a user

    Superuser only, except the very first user ever, who becomes superuser. For compatibility, a
    request without a body may give the fields as query parameters instead (`username`, `password`,
    `email`, `is_superuser`; 400 when they do not make a user); this document describes the JSON
    form only.
    """
    given: UserCreate | None = body
    if given is None:
        params = {"username": username, "password": password, "email": email}
        if is_superuser is not None:
            params["is_superuser"] = is_superuser  # type: ignore[assignment]
        try:
            given = UserCreate.model_validate({k: v for k, v in params.items() if v is not None})
        except ValidationError as exc:
            raise BadRequest(
                "Send the user as JSON, or username and password as query parameters: "
                + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            ) from exc
    return await service.create_user(db, given, actor)


@router.get(
    "/me",
    summary="The current user",
    response_model=UserRead,
)
async def get_current_user(db: DB, actor: CurrentUser) -> Response:
    # Pre-serialized: the hot path skips the ORM → model → dict round trip on a cache hit.
    return Response(await service.me_json(Loading(db), actor), media_type="application/json")


@router.patch(
    "/me",
    response_model=UserRead,
    operation_id="update_current_user",
    responses=error_responses(Conflict),
)
async def update_me(db: DB, actor: CurrentUser, body: UserUpdateMe) -> User:
    """Update the current user

    Profile fields; a new `password` needs `old_password` (422 without it; 403 when it is not the
    current password).
    """
    return await service.update_me(db, actor, body)


@router.get(
    "/{user_id}",
    summary="Get a user",
    response_model=UserRead,
    responses=error_responses(NotFound),
)
async def get_user(db: DB, actor: CurrentUser, user_id: uuid.UUID) -> User:
    return await service.get_visible(db, actor, user_id)


@router.patch(
    "/{user_id}",
    response_model=UserRead,
    responses=error_responses(NotFound, BadRequest, Conflict),
)
async def update_user(db: DB, actor: Superuser, user_id: uuid.UUID, body: UserUpdateAdmin) -> User:
    """Update a user (superuser)

    A password set here expires at once (`password_expired`); deactivating a user ends all their
    sessions immediately.
    """
    return await service.update_user(db, actor, user_id, body)


@router.delete(
    "/{user_id}",
    summary="Delete a user (superuser)",
    responses=error_responses(NotFound, Conflict),
)
async def delete_user(db: DB, actor: Superuser, user_id: uuid.UUID) -> Empty:
    await service.delete_user(db, actor, user_id)
    return Empty()
