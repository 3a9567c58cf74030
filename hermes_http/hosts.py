"""Which `Host` names a listener answers to: the defence against DNS rebinding.

A web page the user visits can make its own domain resolve to 127.0.0.1. The browser then
sends that page's requests, cookies aside, to our loopback server, with `Host` and `Origin`
both naming the attacker's domain, so an Origin check proves nothing. What the attacker cannot
choose is a `Host` we recognise: the loopback names, the address we are bound to, or names the
user listed (`HERMES_ALLOWED_HOSTS`, `allowed_hosts` in config.yaml). Every request is checked,
reads and event streams included, before anything else runs.

An IP literal cannot be rebound: a page served from another address never sends ours. So when
the listener is bound to every interface (0.0.0.0 or ::), any literal address is accepted, and
names must still be listed.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import orjson

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
SETTING_HINT = "HERMES_ALLOWED_HOSTS (comma-separated) or allowed_hosts in config.yaml"
REFUSED_STATUS = 421


def host_name(header: str) -> str | None:
    """The name in a `Host` header, lowercased, without port or brackets; None if malformed."""
    value = header.strip().lower()
    if value.startswith("["):
        name, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not (rest[:1] == ":" and rest[1:].isdigit())):
            return None
        return name
    name, colon, port = value.partition(":")
    if colon and not port.isdigit():
        return None
    name = name.rstrip(".")
    return name or None


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address, IPv6 with or without brackets) is this machine."""
    if host.lower() == "localhost":
        return True
    address = _address(host.strip("[]"))
    return address is not None and address.is_loopback


def _address(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


@dataclass(frozen=True)
class HostPolicy:
    """The names one listener answers to: loopback, its bind address, and listed names.

    A listed name may start with `*.` to allow every subdomain of what follows.
    """

    bind_host: str
    listed: tuple[str, ...] = ()

    def allows(self, header: str | None) -> bool:
        if header is None:
            return True  # no browser omits Host; HTTP/1.0 tools and health probes may
        name = host_name(header)
        if name is None:
            return False
        if name == "localhost" or self._is_bind_name(name):
            return True
        address = _address(name)
        if address is not None:
            return self._allows_address(address)
        return any(_matches(name, entry) for entry in self.listed)

    def _is_bind_name(self, name: str) -> bool:
        return name == self.bind_host.strip("[]").lower()

    def _allows_address(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        if address.is_loopback:
            return True
        bound = _address(self.bind_host.strip("[]"))
        if bound is not None and bound.is_unspecified:
            return True
        return bound == address or any(_listed_address(e) == address for e in self.listed)

    def expected(self) -> list[str]:
        """The names to tell the user about, for start-up messages and refusals."""
        names = list(LOOPBACK_NAMES)
        bind = self.bind_host.strip("[]").lower()
        bound = _address(bind)
        if bound is not None and bound.is_unspecified:
            names.append("any IP address of this machine")
        elif not is_loopback(bind):
            names.append(f"[{bind}]" if ":" in bind else bind)
        return names + list(self.listed)


def _listed_address(entry: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """A listed IP literal, bare (`::1`) or as a Host header writes it (`[::1]:8787`)."""
    return _address(entry.strip().strip("[]")) or _address(host_name(entry) or "")


def _matches(name: str, entry: str) -> bool:
    entry = entry.strip().lower().rstrip(".")
    if entry.startswith("*."):
        return name.endswith(entry[1:])
    return name == (host_name(entry) or entry)


class HostGuard:
    """ASGI middleware refusing, with 421 and a JSON error, any request for a foreign Host.

    `policy` is called per request so a change of the listed names applies without a restart.
    """

    def __init__(self, app: ASGIApp, policy: Callable[[], HostPolicy]) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            header = _header(scope, b"host")
            policy = self.policy()
            if not policy.allows(header):
                await _refuse(scope, send, header or "", policy)
                return
        await self.app(scope, receive, send)


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == wanted:
            return value.decode("latin-1")
    return None


async def _refuse(scope: Scope, send: Send, header: str, policy: HostPolicy) -> None:
    shown = header[:200]
    log.warning("refused a request for Host %r (possible DNS rebinding)", shown)
    body = orjson.dumps(
        {
            "error": (
                f"Host {shown!r} is not allowed. This server answers to "
                f"{', '.join(policy.expected())}. If you reach it by this name on purpose, "
                f"add the name to {SETTING_HINT} and restart."
            ),
            "code": "host_not_allowed",
            "setting": "HERMES_ALLOWED_HOSTS",
        }
    )
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    await send(
        {
            "type": "http.response.start",
            "status": REFUSED_STATUS,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                (b"x-content-type-options", b"nosniff"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
