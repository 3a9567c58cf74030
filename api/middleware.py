"""The request guard: same-origin writes, bounded bodies, and security headers on every reply.

Written as plain ASGI rather than `BaseHTTPMiddleware`: it adds no task per request and can
refuse a body before the application reads a byte of it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlsplit

from api import agent_runtime, auth, config
from api.responses import JSONResponse, error_response
from hermes_agent.errors import ConfigError
from hermes_http.hosts import HostPolicy

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Bodies a route streams to disk itself, within its own size limit (never buffered here).
STREAMED_BODIES = frozenset(
    {"/api/upload", "/api/sessions/import", "/api/workspace/upload", "/api/skills/import"}
)
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
        b"script-src 'self'; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; "
        b"base-uri 'none'; form-action 'self'",
    ),
]
DEFAULT_PORTS = {"http": 80, "https": 443}


def host_policy_for(bind_host: str) -> Callable[[], HostPolicy]:
    """The Host names this server answers to, following `allowed_hosts` as settings reload."""

    def policy() -> HostPolicy:
        try:
            listed = agent_runtime.current_settings().allowed_hosts
        except ConfigError:
            listed = ()  # broken settings must not lock the user out of loopback
        return HostPolicy(bind_host, listed)

    return policy


class RequestGuard:
    def __init__(self, app: ASGIApp, max_body_bytes: int = config.MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_security_headers(send)
        headers = _headers(scope)
        if scope["method"] not in SAFE_METHODS and not _same_origin(scope, headers):
            await error_response(403, "Cross-origin request rejected")(scope, receive, send)
            return
        refusal = _auth_refusal(scope, headers)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        length = headers.get("content-length")
        if scope["path"] in STREAMED_BODIES:  # read as it comes, against the route's own limit
            await self.app(scope, receive, send)
            return
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            status, message = (
                (413, _too_large(self.max_body_bytes))
                if length.isdigit()
                else (400, "Invalid Content-Length")
            )
            await error_response(status, message)(scope, receive, send)
            return
        if length is None and scope["method"] not in SAFE_METHODS:
            body = await _read_bounded(receive, self.max_body_bytes)
            if body is None:
                await error_response(413, _too_large(self.max_body_bytes))(scope, receive, send)
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, send)


def _auth_refusal(scope: Scope, headers: dict[str, str]) -> JSONResponse | None:
    """With a password set: no session cookie, no API; no CSRF token, no state change."""
    guard = auth.authenticator()
    if guard is None or auth.is_public(scope["path"]):
        return None
    cookie = SimpleCookie(headers.get("cookie", "")).get(auth.COOKIE_NAME)
    value = cookie.value if cookie else None
    if not guard.valid_cookie(value):
        return error_response(401, "Authentication required")
    if scope["method"] not in SAFE_METHODS and not guard.valid_csrf(
        value, headers.get(auth.CSRF_HEADER)
    ):
        return error_response(403, "Missing or invalid CSRF token", code="csrf")
    return None


def _too_large(limit: int) -> str:
    return f"Request body too large (limit {limit // (1024 * 1024)} MB)"


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}


def _same_origin(scope: Scope, headers: dict[str, str]) -> bool:
    """A write is allowed from this server's own pages, listed origins, or non-browser clients.

    Browsers always send Origin (or at least Referer) on cross-site writes; clients that send
    neither (curl, scripts) are not a CSRF vector. Scheme, host and port must all match.
    """
    origin = headers.get("origin") or headers.get("referer")
    if origin is None:
        return True
    try:
        parts = urlsplit(origin)
        claimed = (parts.scheme, parts.hostname, parts.port or DEFAULT_PORTS.get(parts.scheme))
        if f"{parts.scheme}://{parts.netloc}" in config.ALLOWED_ORIGINS:
            return True
        scheme = scope.get("scheme", "http")
        host = urlsplit(f"{scheme}://{headers.get('host', '')}")
        served = (scheme, host.hostname, host.port or DEFAULT_PORTS.get(scheme))
    except ValueError:
        return False
    return claimed[1] is not None and claimed == served


async def _read_bounded(receive: Receive, limit: int) -> bytes | None:
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """Hand the buffered body to the app, then pass later messages (disconnects) through."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _with_security_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
        await send(message)

    return wrapped
