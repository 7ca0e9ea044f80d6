"""The ``ZENML_SERVER_PRO_*`` settings of a workspace server (spec §9; wire contract §3.1):
what makes an unmodified ZenML server a Pro workspace of this control plane."""

from __future__ import annotations

AUDIENCE = "zenml-workspaces"  # any string: zenpro does not check it


def pro_server_env(
    *,
    api_url: str,
    dashboard_url: str,
    client_secret: str,
    organization_id: str,
    organization_name: str,
    workspace_id: str,
    workspace_name: str,
) -> dict[str, str]:
    """``api_url`` must be byte-identical to the URL the ZenML CLI logs in with
    (``--pro-api-url``); ``dashboard_url`` is where the server sends browsers
    (``<dashboard_url>/workspaces/<name>``): zenpro's console, ``<zenpro>/console``.
    ``client_secret`` is the workspace's enrollment key."""
    return {
        "ZENML_SERVER_PRO_API_URL": api_url,
        "ZENML_SERVER_PRO_DASHBOARD_URL": dashboard_url,
        "ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET": client_secret,
        "ZENML_SERVER_PRO_OAUTH2_AUDIENCE": AUDIENCE,
        "ZENML_SERVER_PRO_ORGANIZATION_ID": organization_id,
        "ZENML_SERVER_PRO_ORGANIZATION_NAME": organization_name,
        "ZENML_SERVER_PRO_WORKSPACE_ID": workspace_id,
        "ZENML_SERVER_PRO_WORKSPACE_NAME": workspace_name,
    }
