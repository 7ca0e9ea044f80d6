"""Guards: the one way a route declares what it needs.

Every route depends on exactly one guard (a callable marked with ``GUARD_MARK``); the
route meta-test fails when a route has none. A guard resolves the caller, loads the
target *through the caller's visibility* (invisible → 404 before any handler runs) and
then checks the permission (visible but not allowed → 403).
"""

from __future__ import annotations

import inspect
import typing
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from zenpro.auth import deps as auth_deps
from zenpro.auth.principal import UserPrincipal
from zenpro.authz.access import Access
from zenpro.authz.checker import Grants, load_grants
from zenpro.deps import DB
from zenpro.errors import Forbidden, NotFound, raises

GUARD_MARK = "__zenpro_guard__"
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def guard(fn: F) -> F:
    """Mark a dependency as a route guard (see the meta-test in tests/authz)."""
    setattr(fn, GUARD_MARK, True)
    return fn


@guard
async def public() -> None:
    """A route anyone may call (login, health, the HTML pages)."""


for _dep in (
    auth_deps.get_optional_principal,
    auth_deps.get_principal,
    auth_deps.get_user_principal,
    auth_deps.get_human,
    auth_deps.get_superuser,
    auth_deps.get_workspace_machine,
    auth_deps.get_server_sign_in,
):
    guard(_dep)

Public = Depends(public)


async def get_access(
    request: Request,
    db: DB,
    principal: Annotated[UserPrincipal, Depends(auth_deps.get_user_principal)],
) -> Access:
    cached: Access | None = getattr(request.state, "access", None)
    if cached is not None:
        return cached
    access = Access(principal, await load_grants(db, principal))
    request.state.access = access
    return access


guard(get_access)
Authenticated = Annotated[Access, Depends(get_access)]


@dataclass(frozen=True)
class Target(Generic[T]):
    """What a guard loaded: the object and the scope it lives in."""

    obj: T
    organization_id: uuid.UUID
    workspace_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Scoped(Generic[T]):
    """A guarded target, handed to the handler with the caller's access."""

    access: Access
    target: Target[T]

    @property
    def obj(self) -> T:
        return self.target.obj


Loader = Callable[[AsyncSession, str], Awaitable[Target[Any] | None]]
Visible = Callable[[Grants, Target[Any]], bool]
Allowed = Callable[[Grants, Target[Any]], bool]


def org_visible(grants: Grants, target: Target[Any]) -> bool:
    return grants.in_org(target.organization_id)


def declaring(dependency: F, param: str, annotation: Any) -> F:
    """Give ``dependency`` (which takes ``**path``) a keyword parameter ``param`` of type
    ``annotation``: FastAPI then reads, validates and documents that path parameter for
    every route the dependency guards, so the route need not declare it."""
    sig = inspect.signature(dependency)
    kept = [p for p in sig.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    extra = inspect.Parameter(param, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)
    hints = {**typing.get_type_hints(dependency, include_extras=True), param: annotation}
    dependency.__signature__ = sig.replace(  # type: ignore[attr-defined]
        parameters=[p.replace(annotation=hints.get(p.name, p.annotation)) for p in kept] + [extra]
    )
    return dependency


def resource_guard(
    resource_type: str,
    action: str,
    *,
    param: str,
    ref: Any,
    load: Loader,
    visible: Visible = org_visible,
    allowed: Allowed | None = None,
    noun: str | None = None,
) -> Callable[..., Awaitable[Scoped[Any]]]:
    """A guard for routes with an id in their path.

    The guard declares the path parameter ``param`` (type ``ref``, e.g. ``kit.params``'
    ``OrganizationRef``) itself. ``load`` finds the object from its value (None → 404);
    ``visible`` hides it (→ 404); then the organization role must grant
    ``(resource_type, action)``, or ``allowed`` must say yes (→ else 403).
    """
    label = noun or resource_type.replace("_", " ")

    async def dependency(db: DB, access: Authenticated, **path: str) -> Scoped[Any]:
        raw = path[param]
        target = await load(db, raw)
        if target is None or not visible(access.grants, target):
            raise NotFound(f"{label.capitalize()} {raw!r} not found")
        ok = access.grants.org_allows(target.organization_id, resource_type, action) or (
            allowed is not None and allowed(access.grants, target)
        )
        if not ok:
            raise Forbidden(f"You may not {action} this {label}")
        return Scoped(access, target)

    dependency.__name__ = f"guard_{resource_type}_{action}"
    return guard(raises(NotFound, Forbidden)(declaring(dependency, param, ref)))


def parse_uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None
