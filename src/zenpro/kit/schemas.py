"""Base Pydantic schemas: read models from ORM rows, strict input models."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

import email_validator
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    GetJsonSchemaHandler,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema
from typing_extensions import TypeAliasType

SLUG_RE = r"^[a-z0-9][a-z0-9\-_]*$"

Slug = Annotated[
    str,
    StringConstraints(min_length=1, max_length=50, pattern=SLUG_RE),
    Field(description="A slug: 1-50 chars of a-z, 0-9, '-' and '_', starting alphanumeric."),
]

# Names of organizations, teams and custom roles (spec §1): display names such as
# "Production" or "Data Science". One pattern both validates and is published, so the
# OpenAPI admits exactly what the server takes. The server trims, so the pattern allows
# surrounding whitespace and bounds what is left (1 edge char + up to 48 + 1 edge char).
# Character classes are spelled with \uXXXX escapes only: Python's re, ECMA-262 (JSON
# Schema) and hypothesis read them the same way.
NAME_MAX = 50
# Trimmed from both ends: Unicode White_Space (a fixed list, unlike str.isspace()).
_SPACE_CLASS = r"\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# The same set as characters, for str.strip (derived, so the two cannot drift apart).
_SPACE_CHARS = "".join(filter(re.compile(f"[{_SPACE_CLASS}]").fullmatch, map(chr, range(0x3001))))
# Refused anywhere in a name: control characters (C0, DEL, C1), line and paragraph
# separators, and the invisible characters that reorder or hide text (bidirectional
# controls, zero-width space, word joiner and invisible operators, byte-order mark), so
# two names that look the same cannot be told apart only by them. ZWJ/ZWNJ stay: scripts
# and emoji need them.
_REFUSED_CLASS = (
    r"\u0000-\u001f\u007f-\u009f\u2028\u2029"
    r"\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
)
NAME_PATTERN = (
    rf"^[{_SPACE_CLASS}]*"
    rf"[^{_REFUSED_CLASS}{_SPACE_CLASS}]"
    rf"(?:[^{_REFUSED_CLASS}]{{0,{NAME_MAX - 2}}}[^{_REFUSED_CLASS}{_SPACE_CLASS}])?"
    rf"[{_SPACE_CLASS}]*$"
)
_NAME_RE = re.compile(NAME_PATTERN)
_REFUSED_RE = re.compile(f"[{_REFUSED_CLASS}]")


def trim_name(value: str) -> str:
    """``value`` without the surrounding whitespace a name is stored without."""
    return value.strip(_SPACE_CHARS)


def is_name(value: str) -> bool:
    """Whether ``value`` could be a stored name (valid and already trimmed)."""
    return _NAME_RE.fullmatch(value) is not None and trim_name(value) == value


def _why_not_a_name(value: str) -> str:
    trimmed = trim_name(value)
    if not trimmed:
        return "a name must not be empty or only whitespace"
    if len(trimmed) > NAME_MAX:
        return f"a name has at most {NAME_MAX} characters (this one has {len(trimmed)})"
    bad = _REFUSED_RE.search(trimmed)
    char = f"U+{ord(bad.group()):04X}" if bad else "a character"
    return f"a name must not contain {char} (control or invisible formatting characters)"


def _valid_name(value: str) -> str:
    # The published pattern is the rule; the message only explains a refusal.
    if _NAME_RE.fullmatch(value) is None:
        raise ValueError(_why_not_a_name(value))
    return trim_name(value)


NAME_DESCRIPTION = (
    "A display name (e.g. `Production`, `Data Science`): letters of any case, digits, spaces "
    "and punctuation. The server trims it: leading and trailing whitespace may be sent and is "
    f"not stored; what remains has 1-{NAME_MAX} characters. Refused anywhere: control "
    "characters (U+0000-U+001F, U+007F-U+009F), line and paragraph separators (U+2028, "
    "U+2029) and invisible formatting characters (U+061C, U+200B, U+200E, U+200F, "
    "U+202A-U+202E, U+2060-U+2064, U+2066-U+2069, U+FEFF). Unique in its scope ignoring case."
)

Name = Annotated[
    str,
    AfterValidator(_valid_name),
    WithJsonSchema(
        {"type": "string", "minLength": 1, "pattern": NAME_PATTERN, "description": NAME_DESCRIPTION}
    ),
]
# Every text value the API takes (body fields, query, path and form parameters) is
# storable on every backend: no NUL (PostgreSQL cannot store it in text) and no lone
# surrogate (no Unicode text; pydantic refuses it wherever a pattern applies). The NUL rule
# is published as this pattern on every string that has no stricter pattern, format or
# enum; lone surrogates cannot be written in a JSON Schema pattern (ECMA-262 tools refuse
# `\ud800`) and are named in the descriptions instead (TEXT_RULE).
TEXT_PATTERN = r"^[^\u0000]*$"
TEXT_RULE = "Any characters but NUL (U+0000) and lone surrogates (422)."


def text(max_length: int, *, min_length: int | None = None) -> StringConstraints:
    """The constraints of a free-text value of at most ``max_length`` characters."""
    return StringConstraints(min_length=min_length, max_length=max_length, pattern=TEXT_PATTERN)


Text = Annotated[str, StringConstraints(pattern=TEXT_PATTERN)]


class _TextKeys:
    """Publish a dict's key rule as ``propertyNames`` (pydantic writes ``patternProperties``,
    which lets a key that does not match through as an additional property)."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        keyed = schema.pop("patternProperties", None)
        if keyed:
            ((pattern, value),) = keyed.items()
            schema["propertyNames"] = {"pattern": pattern}
            schema["additionalProperties"] = value
        return schema


# Free-form JSON whose text (keys and strings, at any depth) follows the text rule.
TextJson = TypeAliasType(
    "TextJson", "Text | int | float | bool | list[TextJson] | TextObject | None"
)
TextObject = Annotated[dict[Text, TextJson], _TextKeys]


def _json_integer(value: object) -> object:
    # JSON Schema's integer is a number without a fraction; pydantic's lax int would also
    # take true/false and numeric strings, which the published schema refuses.
    if isinstance(value, bool | str):
        raise ValueError("expected an integer")
    return value


# A bounded one: `Annotated[int, Field(ge=…, le=…), JSON_INTEGER]`, bounds first (after the
# validator pydantic would publish them as `ge`/`le`, not minimum/maximum).
JSON_INTEGER = BeforeValidator(_json_integer)

DisplayName = Annotated[str, text(50)]
Description = Annotated[str, text(256)]
ShortText = Annotated[str, text(255)]
# http(s), a non-empty authority of RFC 3986 ASCII characters (no IPv6 literal: brackets in
# the host are where URL parsers disagree), then any path/query of visible characters (no
# whitespace, no C0 control, DEL or lone surrogate: browsers strip or refuse them). Every
# string this accepts parses with urllib.parse.urlsplit.
URL_PATTERN = (
    r"^https?://[A-Za-z0-9._~%!$&'()*+,;=:@-]+"
    r"(?:[/?#][^\u0000-\u0020\u007f\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f"
    r"\u205f\u3000]*)?$"
)
URL_MAX = 1024
Url = Annotated[
    str,
    StringConstraints(max_length=URL_MAX, pattern=URL_PATTERN),
    Field(description="An absolute http:// or https:// URL (at most 1024 characters)."),
]

# Email addresses are checked by email-validator (through pydantic's EmailStr), which also
# normalizes them. Beyond the `email` format it refuses special-use domains (RFC 6761 and
# the like): published as a `not` pattern, so a schema-valid address is never refused.
_SPECIAL_USE = "|".join(
    "".join(f"[{c}{c.upper()}]" if c.isalpha() else re.escape(c) for c in name)
    for name in email_validator.SPECIAL_USE_DOMAIN_NAMES
)
SPECIAL_USE_DOMAIN_PATTERN = rf"[.@](?:{_SPECIAL_USE})$"
EMAIL_MAX = 254
EMAIL_DESCRIPTION = (
    f"An email address (at most {EMAIL_MAX} characters), as the email-validator library "
    "accepts it: no quoted local part, no IP address as the domain, and no special-use "
    f"domain ({', '.join('.' + d for d in email_validator.SPECIAL_USE_DOMAIN_NAMES)})."
)
Email = Annotated[
    EmailStr,
    WithJsonSchema(
        {
            "type": "string",
            "format": "email",
            "maxLength": EMAIL_MAX,
            "not": {"pattern": SPECIAL_USE_DOMAIN_PATTERN},
            "description": EMAIL_DESCRIPTION,
        }
    ),
]


ISO_TIME_MAX = 64  # a bound for the request target: RFC 3339 does not bound the fraction


def _iso_only(value: object) -> object:
    # pydantic would also read a bare number as a Unix time; the contract says ISO 8601.
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?[\d.]+([eE][+-]?\d+)?\s*", value):
        raise ValueError("expected an ISO 8601 date-time")
    if isinstance(value, str) and len(value) > ISO_TIME_MAX:
        raise ValueError(f"a date-time has at most {ISO_TIME_MAX} characters")
    return value


def _in_utc(value: datetime) -> datetime:
    # As the database stores it (kit.db.UTCDateTime): naive means UTC. A time whose UTC
    # form leaves the calendar (9999-12-31T23:59-05:00) is the client's to fix: 422.
    try:
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        raise ValueError("date-time out of range once converted to UTC") from None


IsoTime = Annotated[
    datetime,
    BeforeValidator(_iso_only),
    AfterValidator(_in_utc),
    WithJsonSchema({"type": "string", "format": "date-time", "maxLength": ISO_TIME_MAX}),
]


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
