"""Password login for a server reachable by others.

With `HERMES_WEBUI_PASSWORD` set, every API call needs a session cookie obtained by logging
in: signed with a secret kept in the state dir, HttpOnly (scripts cannot read it) and
SameSite=Strict (other sites cannot send it). State-changing requests must also carry the
CSRF token that login returned, in the `X-Hermes-CSRF` header; the token is derived from the
cookie, so a page on another origin can neither read nor forge it. Without a password the
server trusts its loopback clients and none of this applies.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import deque
from pathlib import Path

from api import config
from hermes_agent.durable import atomic_write

COOKIE_NAME = "hermes_session"
CSRF_HEADER = "x-hermes-csrf"
SESSION_SECONDS = 7 * 24 * 3600
FAILURES_ALLOWED = 5
FAILURE_WINDOW_SECONDS = 60
# The pages and their assets hold no data (the UI asks for a login itself), so they load
# before it; everything with data is behind the cookie.
PUBLIC_PATHS = frozenset({"/", "/login", "/health", "/api/auth/login", "/api/auth/status"})
PUBLIC_PREFIXES = ("/static/",)


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def configured_password() -> str | None:
    return os.environ.get("HERMES_WEBUI_PASSWORD") or None


class Authenticator:
    def __init__(self, password: str, secret_file: Path) -> None:
        self._password = password.encode()
        self._secret_file = secret_file
        self._secret: bytes | None = None
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def _key(self) -> bytes:
        """The signing secret: random, made once, kept 0600 so restarts keep people logged in."""
        with self._lock:
            if self._secret is None:
                try:
                    self._secret = self._secret_file.read_bytes()
                except FileNotFoundError:
                    self._secret_file.parent.mkdir(parents=True, exist_ok=True)
                    self._secret = secrets.token_bytes(32)
                    atomic_write(self._secret_file, self._secret)
            return self._secret

    def _sign(self, text: str) -> str:
        return hmac.new(self._key(), text.encode(), hashlib.sha256).hexdigest()

    def check_password(self, candidate: str, client: str) -> bool:
        ok = hmac.compare_digest(
            hashlib.sha256(candidate.encode()).digest(), hashlib.sha256(self._password).digest()
        )
        if not ok:
            with self._lock:
                self._failures.setdefault(client, deque()).append(time.monotonic())
        return ok

    def throttled(self, client: str) -> bool:
        """Too many wrong passwords from one address lately: slow guessing down."""
        cutoff = time.monotonic() - FAILURE_WINDOW_SECONDS
        with self._lock:
            recent = self._failures.get(client, deque())
            while recent and recent[0] < cutoff:
                recent.popleft()
            return len(recent) >= FAILURES_ALLOWED

    def new_cookie(self) -> str:
        body = f"{int(time.time()) + SESSION_SECONDS}.{secrets.token_hex(16)}"
        return f"{body}.{self._sign(body)}"

    def valid_cookie(self, value: str | None) -> bool:
        if not value or value.count(".") != 2:
            return False
        body, _, signature = value.rpartition(".")
        expiry = body.split(".", 1)[0]
        return (
            hmac.compare_digest(signature, self._sign(body))
            and expiry.isdigit()
            and int(expiry) > time.time()
        )

    def csrf_token(self, cookie: str) -> str:
        return self._sign("csrf:" + cookie)

    def valid_csrf(self, cookie: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(token, self.csrf_token(cookie))


_AUTHENTICATOR: Authenticator | None = None


def authenticator() -> Authenticator | None:
    """The authenticator when a password is configured, else None (open loopback server)."""
    global _AUTHENTICATOR
    password = configured_password()
    if password is None:
        return None
    if _AUTHENTICATOR is None:
        _AUTHENTICATOR = Authenticator(password, config.STATE_DIR / "secret_key")
    return _AUTHENTICATOR
