"""One error hierarchy, rendered in one place (spec §2).

Services raise these; they never raise ``HTTPException``. The ZenML client decodes
``{"detail": [ExceptionClassName, message]}``, so each class carries its wire name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession


class ZenproError(Exception):
    """Base of every error a client can cause. A subclass names its HTTP status, the
    exception name the ZenML client decodes (``wire``) and a stable ``code``:
    ``class NotFound(ZenproError, status=404, wire="KeyError", code="not_found")``."""

    status_code: ClassVar[int] = 400
    wire_name: ClassVar[str] = "ValueError"
    code: ClassVar[str] = "bad_request"

    def __init_subclass__(
        cls, *, status: int | None = None, wire: str | None = None, code: str | None = None
    ) -> None:
        super().__init_subclass__()
        cls.status_code = status or cls.status_code
        cls.wire_name = wire or cls.wire_name
        cls.code = code or cls.code

    def __init__(self, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"detail": [self.wire_name, self.message], "code": self.code}


class BadRequest(ZenproError):
    pass


class NotAuthenticated(
    ZenproError, status=401, wire="CredentialsNotValid", code="not_authenticated"
):
    def __init__(self, message: str = "Not authenticated: log in or send a valid Bearer token"):
        super().__init__(message, {"WWW-Authenticate": "Bearer"})


class SubscriptionLimit(
    ZenproError, status=402, wire="SubscriptionUpgradeRequiredError", code="limit_reached"
):
    pass


class Forbidden(ZenproError, status=403, wire="IllegalOperationError", code="forbidden"):
    pass


class NotFound(ZenproError, status=404, wire="KeyError", code="not_found"):
    pass


class Conflict(ZenproError, status=409, wire="EntityExistsError", code="conflict"):
    pass


class Gone(ZenproError, status=410, wire="KeyError", code="gone"):
    pass


class _Plain(ZenproError):
    """Errors whose ``detail`` is the message alone (no ZenML exception name)."""

    def body(self) -> dict[str, Any]:
        return {"detail": self.message, "code": self.code}


class PayloadTooLarge(_Plain, status=413, code="payload_too_large"):
    pass


class Unavailable(_Plain, status=503, code="unavailable"):
    def __init__(self, message: str, retry_after: int = 2) -> None:
        super().__init__(message, {"Retry-After": str(retry_after)})


def invalid_query(param: str, message: str) -> RequestValidationError:
    """A 422 in FastAPI's own shape, for rules across several query parameters that a
    single parameter's validation cannot express ("exactly one of …")."""
    return RequestValidationError(
        [{"loc": ("query", param), "msg": message, "type": "value_error"}]
    )


RAISES_MARK = "__zenpro_raises__"
F = TypeVar("F", bound=Callable[..., Any])


def raises(*errors: type[ZenproError]) -> Callable[[F], F]:
    """Mark a dependency with the errors it raises itself: every route that depends on it
    (directly or through another dependency) documents them (``zenpro.routing``)."""

    def mark(fn: F) -> F:
        setattr(fn, RAISES_MARK, (*getattr(fn, RAISES_MARK, ()), *errors))
        return fn

    return mark


def error_responses(*errors: type[ZenproError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for the errors a route can raise."""
    out: dict[int | str, dict[str, Any]] = {}
    for err in errors:
        out[err.status_code] = {
            "description": f"{err.wire_name} ({err.code})",
            "content": {
                "application/json": {
                    "example": {"detail": [err.wire_name, "explanation"], "code": err.code}
                }
            },
        }
    return out


async def flush_or_conflict(db: AsyncSession, message: str) -> None:
    """Flush; a unique-constraint race becomes a 409 instead of a 500.

    The transaction is then unusable, which is fine: the error ends the request and
    the request's session rolls back.
    """
    try:
        await db.flush()
    except IntegrityError as exc:
        raise Conflict(message) from exc
