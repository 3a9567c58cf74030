"""Outbound HTTP for the agent's web tools, never to the user's own machine or network.

A model can be talked into fetching any URL (a web page it read may ask for it), so every
hop of a fetch is checked (SSRF): only http and https; the host name is resolved here, and
every address it resolves to must be public: no loopback, private, shared (CGNAT),
link-local (which holds the cloud metadata service at 169.254.169.254), multicast, reserved
or unspecified address, in IPv4 or IPv6. An IPv6 address that carries an IPv4 one (mapped,
6to4, or NAT64's 64:ff9b::/96, how IPv6-only networks reach IPv4 sites) is judged by the IPv4
address it carries. Numeric spellings
(`2130706433`, `0177.0.0.1`, `0x7f.1`) resolve to what they mean and are checked as such.
The connection then goes to the very address that was checked, with the name in the Host
header and TLS SNI (certificates are still verified against the name), so a DNS answer that
changes between the check and the use (DNS rebinding) cannot steer it. Redirects are
followed by hand, each hop checked again. Named hosts can be allowed explicitly (a setting),
for a service on the user's own network they want the agent to read.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from hermes_agent.errors import ToolError

MAX_REDIRECTS = 5
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class Fetched:
    url: str  # the final URL, after redirects
    status: int
    content_type: str
    body: bytes
    truncated: bool


def refused_address(address: str) -> str | None:
    """Why `address` must not be fetched from, or None when it is public."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        ip = _carried_ipv4(ip) or ip
    for reason, hit in (
        ("loopback", ip.is_loopback),
        ("link-local (cloud metadata lives there)", ip.is_link_local),
        ("private", ip.is_private),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved or ip.is_unspecified),
        ("shared (carrier NAT)", ip.version == 4 and ip in SHARED_ADDRESS_SPACE),
        ("site-local", ip.version == 6 and ip.is_site_local),
    ):
        if hit:
            return f"a {reason} address ({ip})"
    return None


def _carried_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one leads to: mapped, 6to4 or NAT64."""
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.ipv4_mapped or ip.sixtofour


def checked_address(host: str, port: int, allowed_hosts: Iterable[str]) -> str:
    """The one address to connect to for `host`: resolved once, and refused unless every
    address it resolves to is public (or the host is allowed by name)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ToolError(f"cannot resolve {host}: {exc}") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise ToolError(f"{host} has no address")
    if host.lower().strip("[]") not in {h.lower() for h in allowed_hosts}:
        for address in addresses:
            reason = refused_address(address)
            if reason is not None:
                raise ToolError(f"refused: {host} resolves to {reason}")
    return addresses[0]


def fetch(
    url: str,
    *,
    allowed_hosts: Iterable[str] = (),
    max_bytes: int = 2 * 1024 * 1024,
    timeout: float = 15.0,
    transport: httpx.BaseTransport | None = None,
) -> Fetched:
    """GET `url`, each hop checked and pinned; at most `max_bytes` of the body are read."""
    allowed = tuple(allowed_hosts)
    deadline = time.monotonic() + timeout
    with httpx.Client(transport=transport, timeout=timeout, follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            request = _pinned_request(client, url, allowed)
            remaining = max(0.1, deadline - time.monotonic())
            request.extensions["timeout"] = httpx.Timeout(remaining).as_dict()
            try:
                response = client.send(request, stream=True)
            except httpx.HTTPError as exc:
                raise ToolError(f"could not fetch {url}: {exc}") from None
            try:
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                body, truncated = _bounded(response, max_bytes, deadline)
            finally:
                response.close()
            kind = response.headers.get("content-type", "")
            return Fetched(url, response.status_code, kind, body, truncated)
    raise ToolError(f"more than {MAX_REDIRECTS} redirects")


def _pinned_request(client: httpx.Client, url: str, allowed: tuple[str, ...]) -> httpx.Request:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ToolError(f"refused: only http and https URLs can be fetched, not {url!r}")
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = checked_address(host, port, allowed)
    literal = f"[{address}]" if ":" in address else address
    pinned = parts._replace(netloc=f"{literal}:{port}").geturl()
    shown_host = parts.netloc.rsplit("@", 1)[-1]
    request = client.build_request(
        "GET", pinned, headers={"Host": shown_host, "User-Agent": "HermesStation/1 (web_fetch)"}
    )
    if parts.scheme == "https":
        request.extensions["sni_hostname"] = host
    return request


def _bounded(response: httpx.Response, max_bytes: int, deadline: float) -> tuple[bytes, bool]:
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return b"".join(chunks)[:max_bytes], True
        if time.monotonic() > deadline:
            return b"".join(chunks), True
    return b"".join(chunks), False
