from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, StrictBool, model_validator

from zenpro.kit.schemas import Description, InputModel, ShortText
from zenpro.users.schemas import Username, UserRead


class ServiceAccountRead(UserRead):
    """A service account: a user with ``is_service_account``, no password and no email."""

    description: str | None = Field(description="What the service account is for.")


def _one_login_name(data: Any, *, null_is_unset: bool = False) -> Any:
    """``username`` (what ZenML clients send) and ``name`` are one field: either may be
    sent, or both when equal. Both are filled, so the services read ``name``. In an
    update, null means "unchanged", for either."""
    if not isinstance(data, dict) or "username" not in data:
        return data
    if null_is_unset:
        data = {k: v for k, v in data.items() if k not in ("name", "username") or v is not None}
        if "username" not in data:
            return data
    if "name" in data and data["name"] != data["username"]:
        raise ValueError(
            "`username` and `name` are the same field (the service account's login name) and "
            "differ: send one of them, or the same value in both"
        )
    return {**data, "name": data["username"]}


def _not_null(schema: dict[str, Any]) -> None:
    """A string, not ``string | null``: null is no login name. The field's own keys (its
    description) win over the string type's."""
    branches = schema.pop("anyOf", [])
    own = {k: v for k, v in schema.items() if k != "default"}
    schema.clear()
    schema.update(next((b for b in branches if b.get("type") != "null"), {}), **own)


def _either_required(schema: dict[str, Any]) -> None:
    """In the published schema, ``name`` is not required on its own: one of the two is."""
    schema["required"] = [f for f in schema.get("required", []) if f != "name"]
    if not schema["required"]:
        del schema["required"]
    schema["anyOf"] = [{"required": ["username"]}, {"required": ["name"]}]


NAME_ALIAS = (
    "Alias of `name`, the field ZenML clients send. If both are sent they must be equal "
    "(otherwise 422)."
)


class ServiceAccountCreate(InputModel):
    model_config = ConfigDict(json_schema_extra=_either_required)

    name: Username = Field(
        description="Unique login name of the service account. Required unless `username` "
        "is sent; if both are sent they must be equal (otherwise 422)."
    )
    username: Username | None = Field(None, description=NAME_ALIAS, json_schema_extra=_not_null)
    display_name: ShortText | None = Field(None, description="Human-readable name.")
    description: Description | None = Field(None, description="What it is for.")

    @model_validator(mode="before")
    @classmethod
    def _login_name(cls, data: Any) -> Any:
        return _one_login_name(data)


class ServiceAccountUpdate(InputModel):
    name: Username | None = Field(
        None,
        description="New login name (null: unchanged). If `username` is sent too they must "
        "be equal (otherwise 422).",
    )
    username: Username | None = Field(None, description=NAME_ALIAS)
    display_name: ShortText | None = Field(None, description="Human-readable name.")
    description: Description | None = Field(None, description="What it is for.")
    is_active: StrictBool | None = Field(
        None, description="false deactivates it: every key and token stops at once."
    )

    @model_validator(mode="before")
    @classmethod
    def _login_name(cls, data: Any) -> Any:
        return _one_login_name(data, null_is_unset=True)
