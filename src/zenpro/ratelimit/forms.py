"""The login forms, parsed once: the rate limiter counts exactly what the endpoint reads.

Issue 12 found the limiter and the login endpoints reading different things: the limiter
took the *first* value of a repeated field and only urlencoded bodies, FastAPI's ``Form``
the *last* value, and multipart too. ``username=decoy&username=victim`` was then counted
against the decoy and checked against the victim, so the per-account limit never applied.
So, for ``POST /auth/login``, ``POST /login`` and ``POST /auth/device_authorization``:

- one parser, :func:`parse`. The limiter parses in the middleware and stores the result in
  ``scope["state"]``; the login endpoints read that very object through
  :func:`shared_form`, which parses with the same function only when no limiter ran
  (``ZENPRO_RATELIMIT_ENABLED=false``);
- a field sent twice is refused (400): there is no "which one counts" left to disagree on;
- only ``application/x-www-form-urlencoded`` is taken (415 otherwise; an empty request
  without a ``Content-Type`` is an empty form, for a Bearer-only API-key exchange).

The device-authorization endpoint (``devices.endpoints``) still reads FastAPI's ``Form``;
:class:`LoginFormGuard` refuses, in front of it, every form on which the two parsers could
disagree (repeats, other content types), so the field it reads is the one counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from zenpro.auth.schemas import OAuthError
from zenpro.kit import asgi

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
STATE_KEY = "zenpro.login_form"
MAX_FIELDS = 32  # the login forms have at most 8 fields
GUARDED = frozenset({("POST", "/auth/device_authorization")})


@dataclass(frozen=True, slots=True)
class FormProblem:
    """Why a login form is refused: 400 (malformed, repeated field) or 415 (not a form)."""

    status: int
    message: str


@dataclass(frozen=True, slots=True)
class LoginForm:
    """A parsed login form: each field exactly once, or the problem that refuses it."""

    fields: Mapping[str, str]
    problem: FormProblem | None = None

    def values(self) -> dict[str, str | None]:
        """The fields for validation; an empty field counts as not sent, as FastAPI's
        ``Form`` reads it (HTML forms send every input, filled or not)."""
        return {name: value or None for name, value in self.fields.items()}


def _refused(status: int, message: str) -> LoginForm:
    return LoginForm({}, FormProblem(status, message))


def _media_type(content_type: str | None) -> str | None:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media or None


def _reads_body(content_type: str | None) -> bool:
    """Whether the body is worth reading: a body that is not a form is refused unread."""
    return _media_type(content_type) in (None, FORM_MEDIA_TYPE)


def parse(content_type: str | None, body: bytes) -> LoginForm:
    """The one parser of the login forms (see the module docstring for the rules)."""
    media = _media_type(content_type)
    if media is None and not body:
        return LoginForm({})
    if media != FORM_MEDIA_TYPE:
        got = f"got {media}" if media else "the body has no Content-Type"
        return _refused(415, f"Send the form as {FORM_MEDIA_TYPE} ({got})")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        return _refused(400, "The form is not valid UTF-8: percent-encode its values as UTF-8")
    except ValueError:
        return _refused(400, f"The form has more than {MAX_FIELDS} fields")
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            return _refused(
                400, f"The form field {name!r} was sent more than once: send each field once"
            )
        fields[name] = value
    return LoginForm(fields)


def stored(scope: Scope) -> LoginForm | None:
    found = (scope.get("state") or {}).get(STATE_KEY)
    return found if isinstance(found, LoginForm) else None


def _store(scope: Scope, form: LoginForm) -> None:
    scope.setdefault("state", {})[STATE_KEY] = form


async def read(scope: Scope, receive: Receive) -> tuple[LoginForm, Receive]:
    """The request's form, parsed once; the returned ``receive`` replays the body to the
    application (the body is already capped by the body-size middleware)."""
    found = stored(scope)
    if found is not None:
        return found, receive
    content_type = asgi.header(scope, b"content-type")
    body = b""
    if _reads_body(content_type):
        body, _, receive = await asgi.buffer_body(receive)
    form = parse(content_type, body)
    _store(scope, form)
    return form, receive


async def shared_form(request: Request) -> LoginForm:
    """Dependency: the form the rate limiter counted, else parsed here the same way."""
    found = stored(request.scope)
    if found is None:
        content_type = request.headers.get("content-type")
        body = await request.body() if _reads_body(content_type) else b""
        found = parse(content_type, body)
        _store(request.scope, found)
    return found


def describe(exc: ValidationError) -> str:
    """A validation error as one line naming the fields, for OAuth and HTML answers."""
    parts = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "form"
        parts.append(f"{field}: {error['msg']}")
    return "; ".join(parts)


def as_form(schema: dict[str, Any], model: type[BaseModel], *, parsed: bool = True) -> None:
    """Make ``model``'s JSON Schema say what a form carries: a field is a string or absent
    (a form has no null; an empty field counts as not sent), once (a value is one string,
    never a list); unknown fields, if the model ignores them, may hold any string. A form
    :func:`parse` reads (``parsed``) has at most ``MAX_FIELDS`` fields. Also a
    ``json_schema_extra`` for form models."""
    required = set(schema.get("required", []))
    for name, prop in schema.get("properties", {}).items():
        if name in required and prop.get("type") == "string":
            prop["minLength"] = max(1, prop.get("minLength", 0))  # empty is "not sent"
        branches = prop.get("anyOf", [])
        if {"type": "null"} in branches:
            own = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
            prop.clear()
            rest = [b for b in branches if b != {"type": "null"}]
            prop.update(rest[0] if len(rest) == 1 else {"anyOf": rest}, **own)
        prop.pop("default", None)
    forbid = model.model_config.get("extra") == "forbid"
    schema["additionalProperties"] = False if forbid else {"type": "string"}
    if parsed:
        schema["maxProperties"] = MAX_FIELDS


def form_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON Schema as a form carries it (:func:`as_form`)."""
    schema = model.model_json_schema()
    as_form(schema, model)
    return schema


def openapi_body(model: type[BaseModel], *, required: bool) -> dict[str, Any]:
    """``openapi_extra`` documenting a form read through :func:`shared_form` (it has no
    ``Form`` parameters for FastAPI to describe)."""
    schema = form_schema(model)
    return {
        "requestBody": {
            "required": required,
            "content": {FORM_MEDIA_TYPE: {"schema": schema}},
        }
    }


class LoginFormGuard:
    """Refuse, with an OAuth error, a login form that the endpoint behind would read
    differently than the limiter: for routes whose endpoint reads FastAPI's ``Form``
    (``GUARDED``). Installed whether or not rate limiting is on, inside the limiter,
    so the limiter's parse is the one checked and refused attempts are still counted."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["method"], scope["path"]) not in GUARDED:
            await self.app(scope, receive, send)
            return
        form, receive = await read(scope, receive)
        if form.problem is None:
            await self.app(scope, receive, send)
            return
        body = OAuthError(
            error="invalid_request",
            error_description=form.problem.message,
            status_code=form.problem.status,
        )
        response = JSONResponse(body.model_dump(), status_code=form.problem.status)
        await response(scope, receive, send)
