"""The webhook's signature: HMAC-SHA256 over the timestamp and the body, with a shared secret.

    X-Hermes-Timestamp: 1767225600
    X-Hermes-Signature: sha256=<hex of HMAC-SHA256(secret, "1767225600." + body)>

A request is taken only when its timestamp is within five minutes of the server's clock and
its signature was not seen before in that window: an eavesdropper can neither forge a
request nor replay one. The gateway signs what it posts to a callback URL the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time

TIMESTAMP_HEADER = "X-Hermes-Timestamp"
SIGNATURE_HEADER = "X-Hermes-Signature"
WINDOW_SECONDS = 300
PREFIX = "sha256="


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return PREFIX + digest.hexdigest()


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


class Verifier:
    """Checks signatures and remembers those it accepted for as long as they are valid."""

    def __init__(self, window: float = WINDOW_SECONDS) -> None:
        self.window = window
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def problem(self, secret: str, timestamp: str | None, signature: str | None, body: bytes):
        """Why the request must be refused, or None when it is genuine and new."""
        try:
            stamp = int(timestamp or "")
        except ValueError:
            return f"missing or malformed {TIMESTAMP_HEADER} header"
        now = time.time()
        if abs(now - stamp) > self.window:
            return "the request is too old (or the clocks disagree by over five minutes)"
        if not signature or not hmac.compare_digest(signature, sign(secret, stamp, body)):
            return "bad signature"
        with self._lock:
            self._seen = {sig: until for sig, until in self._seen.items() if until > now}
            if signature in self._seen:
                return "this request was already received"
            self._seen[signature] = stamp + self.window
        return None
