"""Client address: the socket peer, or X-Forwarded-For only from a trusted proxy."""

from __future__ import annotations

import ipaddress
from typing import Protocol, TypedDict

from starlette.types import Scope

from zenpro.kit.asgi import header

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Proxies(Protocol):
    """What client_ip needs of the settings: the networks of trusted proxies."""

    @property
    def trusted_networks(self) -> list[Network]: ...


class Client(TypedDict):
    """Who is on the other end, as sessions and devices record it."""

    user_agent: str | None
    ip: str


def client_of(scope: Scope, settings: Proxies) -> Client:
    """The request's user agent and client address (``client_ip``), to pass on as keywords."""
    return {"user_agent": header(scope, b"user-agent"), "ip": client_ip(scope, settings)}


def client_ip(scope: Scope, settings: Proxies) -> str:
    peer = scope.get("client")
    ip = peer[0] if peer else "unknown"
    networks = settings.trusted_networks
    if not networks or not _in(ip, networks):
        return ip
    forwarded = header(scope, b"x-forwarded-for")
    if not forwarded:
        return ip
    # Walk from the right: the first hop that is not a trusted proxy is the client.
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _in(hop, networks):
            return hop if _valid(hop) else ip
    return hops[0] if hops and _valid(hops[0]) else ip


def _valid(ip: str) -> bool:
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return False
    return True


def _in(ip: str, networks: list[Network]) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in net for net in networks)
