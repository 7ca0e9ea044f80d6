"""Reading a console form: the CSRF token first, then the fields, validated by the API's
own input schemas, so a form and the API accept exactly the same values."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from zenpro.console import csrf

M = TypeVar("M", bound=BaseModel)


@dataclass
class Form:
    """The submitted values (to show again after an error) and the problems per field."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def error(self, name: str) -> str | None:
        return self.errors.get(name)


async def read(request: Request) -> Form:
    """The posted fields (first value of each), after the CSRF check (403: nothing done)."""
    data = await request.form()
    values = {k: v for k, v in data.items() if isinstance(v, str)}
    csrf.check(request, values.pop(csrf.FIELD, None))
    return Form(values)


def _plain(message: str) -> str:
    return message.removeprefix("Value error, ").rstrip(".") + "."


def parse(form: Form, model: type[M], fields: dict[str, Any]) -> M | None:
    """``model`` from ``fields`` (values already picked from the form); None with
    ``form.errors`` filled in when they are not valid."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        for e in exc.errors():
            name = str(e["loc"][0]) if e["loc"] else "form"
            form.errors.setdefault(name, _plain(e["msg"]))
        return None


def optional(value: str) -> str | None:
    """An empty text box means "not given"."""
    stripped = value.strip()
    return stripped or None


def name_and_description(form: Form) -> dict[str, Any]:
    """The usual pair of a create or settings form: a name, and an optional description."""
    return {
        "name": form.get("name").strip(),
        "description": optional(form.get("description")),
    }


def integer(value: str) -> int | str | None:
    """A number box: its integer, or the text as typed (the schema then names the
    problem), or None when empty."""
    stripped = value.strip()
    if not stripped:
        return None
    try:
        return int(stripped)
    except ValueError:
        return stripped


def optional_id(
    form: Form, name: str, problem: str = "Choose one of the options."
) -> uuid.UUID | None:
    """An id field that may be left empty: its UUID, or None (with ``problem`` noted on
    the form when it is not an id)."""
    raw = form.get(name).strip()
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        form.errors[name] = problem
        return None
