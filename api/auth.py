"""Password login for a server reachable by others.

The password comes from `HERMES_WEBUI_PASSWORD` or, when that is unset, from Settings (only
its scrypt hash is kept, see `api.passwords`); the environment wins. With a password, every
API call needs a session cookie obtained by logging in: signed, HttpOnly (scripts cannot read
it) and SameSite=Strict (other sites cannot send it). State-changing requests must also carry
the CSRF token that login returned, in the `X-Hermes-CSRF` header; the token is derived from
the cookie, so a page on another origin can neither read nor forge it. Without a password the
server trusts its loopback clients and none of this applies.

Logging out ends the cookie on the server too (`api.revocations`), so a copy of it left in
another browser profile, a proxy log or a stolen backup stops working at once.

Cookies are signed with a key derived from a random secret kept in the state dir and from the
current password's verifier, so changing or removing the password invalidates every cookie
issued before, while restarts keep people logged in.
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
from typing import Literal

from api import config, passwords
from api.revocations import RevokedCookies
from hermes_agent.durable import atomic_write
from hermes_agent.errors import BadRequest, Conflict, HermesError

COOKIE_NAME = "hermes_session"
CSRF_HEADER = "x-hermes-csrf"
PASSWORD_ENV = "HERMES_WEBUI_PASSWORD"
SESSION_SECONDS = 7 * 24 * 3600
FAILURES_ALLOWED = 5
FAILURE_WINDOW_SECONDS = 60
# The pages and their assets hold no data (the UI asks for a login itself), so they load
# before it; everything with data is behind the cookie.
PUBLIC_PATHS = frozenset({"/", "/login", "/health", "/api/auth/login", "/api/auth/status"})
PUBLIC_PREFIXES = ("/static/",)

PasswordSource = Literal["environment", "settings"]


class WrongPassword(HermesError):
    status = 403


class TooManyAttempts(HermesError):
    status = 429


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def configured_password() -> str | None:
    """The password from the environment, which wins over one set in Settings."""
    return os.environ.get(PASSWORD_ENV) or None


class Authenticator:
    """The password (from either source), the login cookies, CSRF tokens and throttling."""

    def __init__(
        self, secret_file: Path, password_file: Path, revoked_file: Path | None = None
    ) -> None:
        self._secret_file = secret_file
        self._password_file = password_file
        self._revoked = RevokedCookies(
            revoked_file or secret_file.with_name("revoked_sessions.json")
        )
        self._secret: bytes | None = None
        self._stored: passwords.PasswordHash | None = None
        self._stored_loaded = False
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    # ── the password ─────────────────────────────────────────────────────────────────────
    def _stored_hash(self) -> passwords.PasswordHash | None:
        with self._lock:
            if not self._stored_loaded:
                self._stored = passwords.load(self._password_file)
                self._stored_loaded = True
            return self._stored

    def source(self) -> PasswordSource | None:
        if configured_password() is not None:
            return "environment"
        return "settings" if self._stored_hash() is not None else None

    def _matches(self, candidate: str) -> bool:
        from_env = configured_password()
        if from_env is not None:
            return hmac.compare_digest(
                hashlib.sha256(candidate.encode()).digest(),
                hashlib.sha256(from_env.encode()).digest(),
            )
        stored = self._stored_hash()
        return stored is not None and stored.matches(candidate)

    def check_password(self, candidate: str, client: str) -> bool:
        ok = self._matches(candidate)
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

    def change_password(self, current: str | None, new: str | None, client: str) -> None:
        """Set, change (`new`) or remove (`new` None) the Settings password.

        Raises Conflict when the environment holds the password, BadRequest for a short or
        missing password, WrongPassword for a wrong `current`, TooManyAttempts when guessing.
        """
        source = self.source()
        if source == "environment":
            raise Conflict(
                f"The password is managed by the environment ({PASSWORD_ENV}); "
                "change or unset it there and restart the server"
            )
        if new is not None and len(new) < passwords.MIN_LENGTH:
            raise BadRequest(f"The password must be at least {passwords.MIN_LENGTH} characters")
        if source is None and new is None:
            raise Conflict("No password is set; there is nothing to remove")
        if source == "settings":
            self._check_current(current, client)
        stored = passwords.PasswordHash.of(new) if new is not None else None
        with self._lock:
            if stored is None:
                passwords.remove(self._password_file)
            else:
                passwords.save(self._password_file, stored)
            self._stored, self._stored_loaded = stored, True

    def _check_current(self, current: str | None, client: str) -> None:
        if self.throttled(client):
            raise TooManyAttempts("Too many wrong passwords; wait a minute")
        if not current:
            raise BadRequest("The current password is required to change or remove it")
        if not self.check_password(current, client):
            raise WrongPassword("Wrong current password")

    # ── cookies and CSRF tokens ──────────────────────────────────────────────────────────
    def _secret_bytes(self) -> bytes:
        """The random secret: made once, kept 0600 so restarts keep people logged in."""
        with self._lock:
            if self._secret is None:
                try:
                    self._secret = self._secret_file.read_bytes()
                except FileNotFoundError:
                    self._secret_file.parent.mkdir(parents=True, exist_ok=True)
                    self._secret = secrets.token_bytes(32)
                    atomic_write(self._secret_file, self._secret)
            return self._secret

    def _key(self) -> bytes:
        """The signing key, bound to the current password so a new one voids old cookies."""
        from_env = configured_password()
        if from_env is not None:
            verifier = b"env:" + hashlib.sha256(from_env.encode()).digest()
        else:
            stored = self._stored_hash()
            verifier = b"settings:" + (stored.fingerprint if stored else b"")
        return hmac.new(self._secret_bytes(), verifier, hashlib.sha256).digest()

    def _sign(self, text: str) -> str:
        return hmac.new(self._key(), text.encode(), hashlib.sha256).hexdigest()

    def new_cookie(self) -> str:
        issued = max(int(time.time()), int(self._revoked.not_before()))
        body = f"{issued + SESSION_SECONDS}.{secrets.token_hex(16)}"
        return f"{body}.{self._sign(body)}"

    def valid_cookie(self, value: str | None) -> bool:
        parts = self._signed_parts(value)
        if parts is None:
            return False
        expiry, cookie_id = parts
        return expiry > time.time() and not self._revoked.is_revoked(
            cookie_id, expiry - SESSION_SECONDS
        )

    def end_session(self, value: str | None) -> None:
        """Log out: the cookie is refused from now on, even if a copy of it survives."""
        parts = self._signed_parts(value)
        if parts is not None:
            self._revoked.revoke(parts[1], parts[0])

    def _signed_parts(self, value: str | None) -> tuple[int, str] | None:
        """(expiry, random id) of a cookie this server signed, else None."""
        if not value or value.count(".") != 2:
            return None
        body, _, signature = value.rpartition(".")
        expiry, _, cookie_id = body.partition(".")
        if not hmac.compare_digest(signature.encode(), self._sign(body).encode()):
            return None
        return (int(expiry), cookie_id) if expiry.isdigit() else None

    def csrf_token(self, cookie: str) -> str:
        return self._sign("csrf:" + cookie)

    def valid_csrf(self, cookie: str, token: str | None) -> bool:
        # Compared as bytes: compare_digest refuses non-ASCII text, and headers can hold any.
        return bool(token) and hmac.compare_digest(token.encode(), self.csrf_token(cookie).encode())


_SHARED: Authenticator | None = None
_SHARED_LOCK = threading.Lock()


def shared() -> Authenticator:
    """The one Authenticator of this server, whether or not a password is set."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = Authenticator(
                config.STATE_DIR / "secret_key", config.STATE_DIR / "password.json"
            )
        return _SHARED


def authenticator() -> Authenticator | None:
    """The authenticator when a password is set, else None (open loopback server)."""
    guard = shared()
    return guard if guard.source() is not None else None


def password_source() -> PasswordSource | None:
    return shared().source()
