"""Device authorization flow (RFC 8628): /auth/device_authorization, /devices/verify and
the devices a user authorized (/users/me/devices)."""

from __future__ import annotations

import uuid
from html import escape
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from zenpro import routing
from zenpro.auth import repository as repo
from zenpro.auth.deps import CurrentHuman, OptionalPrincipal
from zenpro.auth.endpoints import NO_STORE
from zenpro.auth.pages import base_path, render
from zenpro.auth.principal import Kind, UserPrincipal
from zenpro.auth.schemas import OAuthError
from zenpro.authz.checker import load_grants
from zenpro.authz.guards import Public
from zenpro.deps import DB, AppSettings
from zenpro.devices import service as devices
from zenpro.devices.schemas import DeviceAuthorization, DeviceRead
from zenpro.errors import Forbidden, NotAuthenticated, NotFound, error_responses
from zenpro.kit.db import utcnow
from zenpro.kit.net import client_of
from zenpro.kit.pagination import Paged
from zenpro.kit.schemas import TEXT_PATTERN, Empty
from zenpro.models import Device, Workspace
from zenpro.ratelimit import forms

router = routing.router(tags=["auth"])
VERIFY_PATH = "/devices/verify"
# FastAPI reads an empty form field as not sent (HTML forms send every input): the
# schema says so, so `device_id=` is the documented "no device id", not a bad UUID.
_UUID_OR_EMPTY = WithJsonSchema(
    {
        "anyOf": [{"type": "string", "format": "uuid"}, {"type": "string", "maxLength": 0}],
        "description": "A device id to reuse (empty: none).",
    }
)


class DeviceAuthorizationForm(BaseModel):
    """The form of ``POST /auth/device_authorization`` (RFC 8628 §3.1)."""

    model_config = ConfigDict(extra="ignore", json_schema_extra=forms.as_form)

    client_id: uuid.UUID = Field(description="The client's id (a UUID).")
    device_id: Annotated[uuid.UUID | None, _UUID_OR_EMPTY] = None


# What approving needs, in the published schema too: the workspace to approve it for.
_APPROVE_NEEDS_WORKSPACE = {
    "if": {"required": ["action"], "properties": {"action": {"const": "approve"}}},
    "then": {"required": ["workspace_id"], "properties": {"workspace_id": {"minLength": 1}}},
}


def _verify_form_schema(schema: dict[str, Any], model: type[BaseModel]) -> None:
    # Read by FastAPI's Form (no field limit, a repeated field's last value), not forms.parse.
    forms.as_form(schema, model, parsed=False)
    schema.update(_APPROVE_NEEDS_WORKSPACE)


class DeviceVerifyForm(BaseModel):
    """The form of the verification page (``POST /devices/verify``)."""

    model_config = ConfigDict(extra="ignore", json_schema_extra=_verify_form_schema)

    user_code: str = Field(
        max_length=32, pattern=TEXT_PATTERN, description="The code the client shows."
    )
    action: Literal["approve", "deny"] = Field(description="`approve` or `deny`.")
    workspace_id: str | None = Field(
        None,
        max_length=64,
        pattern=TEXT_PATTERN,
        description="The workspace to log the client in to (one of yours; needed to approve).",
    )

    @model_validator(mode="after")
    def _approve_names_a_workspace(self) -> DeviceVerifyForm:
        # Checked with the form's other rules, before anything else: the page always sends
        # the workspace picked (its select has one selected), so only a forged form lacks it.
        if self.action == "approve" and not self.workspace_id:
            raise ValueError("approve needs workspace_id: pick one of your workspaces")
        return self


@router.post(
    "/auth/device_authorization",
    dependencies=[Public],
    responses={
        400: {"model": OAuthError, "description": "A malformed form (OAuth error)"},
        415: {"model": OAuthError, "description": "Not an urlencoded form (OAuth error)"},
    },
)
async def device_authorization(
    request: Request,
    db: DB,
    settings: AppSettings,
    form: Annotated[DeviceAuthorizationForm, Form()],
) -> DeviceAuthorization:
    """Start a device login (RFC 8628)

    Form-encoded `client_id` (UUID) and optional `device_id` (UUID, to re-authorize a known device).
    The user confirms `user_code` at `verification_uri` (relative to this API's URL) while the
    client polls `POST /auth/login` with `grant_type=urn:ietf:params:oauth:grant-type:device_code`.
    """
    device, code = await devices.start(
        db,
        settings,
        form.client_id,
        form.device_id,
        **client_of(request.scope, settings),
    )
    return DeviceAuthorization(
        device_code=code,
        user_code=device.user_code,
        verification_uri=VERIFY_PATH,
        verification_uri_complete=f"{VERIFY_PATH}?user_code={quote(device.user_code)}",
        expires_in=int((device.expires - utcnow()).total_seconds()),
        interval=device.interval,
    )


def _login_redirect(request: Request) -> RedirectResponse:
    base = base_path(request)  # under /api/v1, the login and the way back stay there
    target = base + VERIFY_PATH
    if request.url.query:
        target += "?" + request.url.query
    return RedirectResponse(
        f"{base}/login?" + urlencode({"next": target}), status_code=303, headers=NO_STORE
    )


async def _choices(db: DB, principal: UserPrincipal) -> list[Workspace]:
    if principal.is_superuser:
        return await repo.live_workspaces(db, None)
    grants = await load_grants(db, principal)
    return await repo.live_workspaces(db, set(grants.member_workspaces))


def _matches(ws: Workspace, hint: str | None) -> bool:
    return bool(hint) and hint in (ws.name, str(ws.id))


def _verify_form(
    request: Request,
    user_code: str,
    choices: list[Workspace],
    hint: str | None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    err = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    if not choices:
        body = f"""
<h1>Authorize a device</h1>
{err}
<p class="error" role="alert">You are not a member of any workspace yet: ask an
organization admin to add you to one, then run the login again.</p>"""
        return render("Authorize a device", body, status)
    options = "\n".join(
        f'<option value="{ws.id}"{" selected" if _matches(ws, hint) else ""}>'
        f"{escape(ws.display_name or ws.name)} ({escape(ws.name)})</option>"
        for ws in choices
    )
    body = f"""
<h1>Authorize a device</h1>
<p class="sub">A ZenML client asks to act on your behalf. Only continue if you started
this login and the code below matches the one it shows.</p>
{err}
<form method="post" action="{escape(base_path(request))}{VERIFY_PATH}">
  <label for="user_code">Code shown by the client</label>
  <input id="user_code" name="user_code" value="{escape(user_code)}" required
         autocomplete="off" autofocus>
  <label for="workspace_id">Workspace</label>
  <select id="workspace_id" name="workspace_id">
{options}
  </select>
  <button type="submit" name="action" value="approve">Approve</button>
  <button type="submit" name="action" value="deny" class="secondary">Deny</button>
</form>"""
    return render("Authorize a device", body, status)


@router.get(
    VERIFY_PATH,
    response_class=HTMLResponse,
    responses={
        303: {"description": "Not logged in: redirect to /login."},
        **error_responses(NotAuthenticated),
    },
)
async def device_verify_page(
    request: Request,
    db: DB,
    principal: OptionalPrincipal,
    user_code: Annotated[
        str, Query(max_length=32, pattern=TEXT_PATTERN, description="The user code.")
    ] = "",
    workspace: Annotated[
        str | None, Query(max_length=255, pattern=TEXT_PATTERN, description="Workspace name or id.")
    ] = None,
) -> Response:
    """Device verification page

    HTML: the logged-in user confirms the user code and picks a workspace (pre-selected by
    `workspace`, a name or id). Logged-out users go through /login.
    """
    if not isinstance(principal, UserPrincipal) or principal.kind is not Kind.user:
        return _login_redirect(request)
    return _verify_form(request, user_code, await _choices(db, principal), workspace)


@router.post(
    VERIFY_PATH,
    response_class=HTMLResponse,
    responses={
        303: {"description": "Not logged in: redirect to /login."},
        404: {
            "description": "Unknown or expired code, or a workspace that is not one of yours: "
            "the form again."
        },
        **error_responses(NotAuthenticated, Forbidden),
    },
)
async def device_verify_submit(
    request: Request,
    db: DB,
    principal: OptionalPrincipal,
    form: Annotated[DeviceVerifyForm, Form()],
) -> Response:
    """Approve or deny a device

    Form post from the verification page (same origin only).
    """
    if not isinstance(principal, UserPrincipal) or principal.kind is not Kind.user:
        return _login_redirect(request)
    user_code, action, workspace_id = form.user_code, form.action, form.workspace_id
    choices = await _choices(db, principal)
    device = await devices.pending(db, user_code)
    if device is None:
        msg = "Unknown or expired code: check it, or start the login again."
        return _verify_form(request, user_code, choices, workspace_id, msg, 404)
    if action == "deny":
        await devices.decide(db, device, principal.user_id, None, approve=False)
        return render(
            "Device denied",
            '<h1>Device denied</h1><p class="ok">The login was '
            "refused. You can close this window.</p>",
        )
    chosen = next((ws for ws in choices if str(ws.id) == workspace_id), None)
    if chosen is None:  # not one of the caller's: as if it did not exist
        return _verify_form(
            request, user_code, choices, workspace_id, "Pick one of your workspaces.", 404
        )
    await devices.decide(db, device, principal.user_id, chosen, approve=True)
    body = (
        f'<h1>Device approved</h1><p class="ok">The client is now logged in to workspace '
        f"<strong>{escape(chosen.name)}</strong>. You can close this window and return to "
        "it.</p>"
    )
    return render("Device approved", body)


@router.get("/users/me/devices", response_model=list[DeviceRead])
async def list_my_devices(db: DB, actor: CurrentHuman, paging: Paged) -> list[Device]:
    """List my devices

    Clients (CLIs) the current user authorized through the device flow. Bare JSON array,
    oldest first; `X-Total-Count` and `Link` headers.
    """
    return await paging.fetch(db, devices.mine_stmt(actor.user_id), Device.created, Device.id)


@router.delete("/users/me/devices/{device_id}", responses=error_responses(NotFound))
async def revoke_my_device(db: DB, actor: CurrentHuman, device_id: uuid.UUID) -> Empty:
    """Revoke one of my devices

    Deletes the device and every token issued to it.
    """
    await devices.revoke(db, actor.user_id, device_id)
    return Empty()
