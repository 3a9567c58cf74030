"""The web UI password set from Settings: a salted scrypt hash in one 0600 file, never the password.

The file (`$HERMES_WEBUI_STATE_DIR/password.json`) holds the scrypt parameters, a random salt
and the derived key, all that is needed to check a candidate and nothing that reveals the
password. It is read once and then kept in memory: this server is its only writer. A file that
cannot be read fails closed (nothing matches it) rather than opening the server; deleting it
and restarting removes the password.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from hermes_agent.durable import atomic_write, fsync_dir

log = logging.getLogger(__name__)

MIN_LENGTH = 8
# About 50 ms and 16 MiB per check: slow for a guesser, unnoticeable at a login.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
KEY_BYTES = 32


@dataclass(frozen=True)
class PasswordHash:
    salt: bytes
    key: bytes
    n: int = SCRYPT_N
    r: int = SCRYPT_R
    p: int = SCRYPT_P

    @classmethod
    def of(cls, password: str) -> PasswordHash:
        salt = secrets.token_bytes(SALT_BYTES)
        return cls(salt, _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P))

    def matches(self, candidate: str) -> bool:
        """Constant-time: how much of a guess was right never shows in the timing."""
        if not self.key:
            return False
        return hmac.compare_digest(_scrypt(candidate, self.salt, self.n, self.r, self.p), self.key)

    @property
    def fingerprint(self) -> bytes:
        """Different for every password ever set (the salt is new each time)."""
        return self.salt + self.key

    def to_json(self) -> bytes:
        record = {
            "algorithm": "scrypt",
            "n": self.n,
            "r": self.r,
            "p": self.p,
            "salt": self.salt.hex(),
            "key": self.key.hex(),
        }
        return json.dumps(record, indent=2).encode()

    @classmethod
    def from_json(cls, data: bytes) -> PasswordHash:
        record = json.loads(data)
        if record.get("algorithm") != "scrypt":
            raise ValueError(f"unknown algorithm {record.get('algorithm')!r}")
        n, r, p = (int(record[name]) for name in ("n", "r", "p"))
        return cls(bytes.fromhex(record["salt"]), bytes.fromhex(record["key"]), n, r, p)


# Matches nothing: what an unreadable password file stands for, so it locks rather than opens.
UNUSABLE = PasswordHash(salt=b"unreadable", key=b"")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=KEY_BYTES
    )


def load(path: Path) -> PasswordHash | None:
    """The stored hash, None when no password is set, UNUSABLE when the file is damaged."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        return PasswordHash.from_json(data)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        log.error(
            "%s cannot be read (%s): no password will be accepted until it is deleted", path, exc
        )
        return UNUSABLE


def save(path: Path, stored: PasswordHash) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, stored.to_json())


def remove(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    fsync_dir(path.parent)
