"""Base Pydantic schemas: read models from ORM rows, strict input models."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

SLUG_RE = r"^[a-z0-9][a-z0-9\-_]*$"

Slug = Annotated[
    str,
    StringConstraints(min_length=1, max_length=50, pattern=SLUG_RE),
    Field(description="A slug: 1-50 chars of a-z, 0-9, '-' and '_', starting alphanumeric."),
]
DisplayName = Annotated[str, StringConstraints(max_length=50)]
Description = Annotated[str, StringConstraints(max_length=256)]
# http(s), a non-empty authority of RFC 3986 ASCII characters (no IPv6 literal: brackets in
# the host are where URL parsers disagree), then any path/query without whitespace. Every
# string this accepts parses with urllib.parse.urlsplit.
Url = Annotated[
    str,
    StringConstraints(
        max_length=1024, pattern=r"^https?://[A-Za-z0-9._~%!$&'()*+,;=:@-]+(?:[/?#]\S*)?$"
    ),
]


def _iso_only(value: object) -> object:
    # pydantic would also read a bare number as a Unix time; the contract says ISO 8601.
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?[\d.]+([eE][+-]?\d+)?\s*", value):
        raise ValueError("expected an ISO 8601 date-time")
    return value


def _in_utc(value: datetime) -> datetime:
    # As the database stores it (kit.db.UTCDateTime): naive means UTC. A time whose UTC
    # form leaves the calendar (9999-12-31T23:59-05:00) is the client's to fix: 422.
    try:
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        raise ValueError("date-time out of range once converted to UTC") from None


IsoTime = Annotated[datetime, BeforeValidator(_iso_only), AfterValidator(_in_utc)]


def is_slug(value: str) -> bool:
    return len(value) <= 50 and re.fullmatch(SLUG_RE, value) is not None


class ReadModel(BaseModel):
    """A response model built from ORM attributes."""

    model_config = ConfigDict(from_attributes=True)


def _check_text(value: Any, path: str = "body") -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{path}: NUL characters are not allowed in text")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(f"{path}: text is not valid Unicode (lone surrogate)") from exc
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, path)
            _check_text(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_text(item, f"{path}[{i}]")


class InputModel(BaseModel):
    """A request body: unknown fields are refused (a client cannot set what it may not),
    and text must be storable (no NUL, no lone surrogates) on every backend."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: Any) -> Any:
        _check_text(data)
        return data


class Empty(BaseModel):
    """An empty JSON object (every 2xx has a JSON body: the ZenML client requires it)."""

    model_config = ConfigDict(extra="forbid")
