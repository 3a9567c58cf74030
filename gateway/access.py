"""Who may talk to the agent: deny by default.

A person is let in when their user id is listed for the platform in the settings (the
`allowed_users` of its section, such as `gateway.telegram.allowed_users`), or when they sent a
pairing code from `hermes gateway pair` (one use, valid for an hour by default). Anyone else
gets one polite refusal, once ever, and is ignored from then on, so a stranger cannot make the
bot talk by writing to it. In a group a stranger gets nothing at all: no refusal in public.

A platform registered as `trusted` proves every sender itself: a webhook request is let in by
its signature, so the hook's secret is its access control.

`access.json` holds the pairing codes (hashed), the paired users and the users already
refused. `hermes gateway pair` writes to it while the gateway runs, so every change is a
read-modify-write under an exclusive lock on `access.lock`.
"""

from __future__ import annotations

import fcntl
import hashlib
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gateway.events import DM, Inbound
from gateway.store import read_json, write_json
from hermes_agent.plugins import PLATFORMS
from hermes_agent.settings import GatewaySettings

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L to misread
CODE_LENGTH = 8
DEFAULT_CODE_TTL = 3600.0
MAX_ATTEMPTS = 5  # wrong codes a stranger may try before being ignored
PAIR_COMMANDS = re.compile(r"^/(?:pair|start)(?:@\w+)?\s+(\S+)\s*$", re.IGNORECASE)

REFUSAL = (
    "Sorry, this Hermes is private and only answers the people its owner allowed. "
    "If that is you, ask the owner for a pairing code and send it here."
)
PAIRED = "✅ Paired. Hello! Send a message to start; /help lists the commands."


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def normalize_code(text: str) -> str:
    """What a person typed, as a code: upper case, separators and spaces dropped."""
    return re.sub(r"[^A-Z0-9]", "", text.upper())


class Access:
    def __init__(self, settings: GatewaySettings, directory: Path) -> None:
        self._allowed = {
            name: set(getattr(section, "allowed_users", ()))
            for name, section in settings.sections().items()
        }
        self._trusted = frozenset(plugin.name for plugin in PLATFORMS if plugin.trusted)
        self._pairing = settings.pairing
        self._path = directory / "access.json"
        self._lock_path = directory / "access.lock"
        self._attempts: dict[tuple[str, str], int] = {}
        self._mutex = threading.Lock()
        data = read_json(self._path, {})
        self._paired = {p: set(ids) for p, ids in (data.get("paired") or {}).items()}

    def is_allowed(self, event: Inbound) -> bool:
        if event.platform in self._trusted:
            return True
        user = event.user_id
        return user in self._allowed.get(event.platform, ()) or user in self._paired.get(
            event.platform, ()
        )

    def turn_away(self, event: Inbound) -> str | None:
        """What to tell a person who is not allowed: that they are paired now (their
        message was a valid code), the refusal (the first time), or nothing.

        In a group, always nothing, and nothing is noted: a refusal there would be public,
        and a code sent where others read it is no secret. Their first private message
        still gets the refusal, or pairs them."""
        if event.chat_type != DM:
            return None
        if self._pairing and self._redeem(event):
            return PAIRED
        return REFUSAL if self._first_refusal(event) else None

    def _redeem(self, event: Inbound) -> bool:
        match = PAIR_COMMANDS.match(event.text.strip())
        code = normalize_code(match.group(1) if match else event.text)
        if len(code) != CODE_LENGTH:
            return False
        who = (event.platform, event.user_id)
        with self._mutex:
            if self._attempts.get(who, 0) >= MAX_ATTEMPTS:
                return False
            self._attempts[who] = self._attempts.get(who, 0) + 1
        paired = self._update(lambda data: _consume(data, code, event))
        if paired:
            self._paired.setdefault(event.platform, set()).add(event.user_id)
        return paired

    def _first_refusal(self, event: Inbound) -> bool:
        return self._update(lambda data: _note_refusal(data, event))

    def _update(self, change: Callable[[dict[str, Any]], bool]) -> bool:
        with self._mutex, locked(self._lock_path):
            data = read_json(self._path, {})
            if not change(data):
                return False
            write_json(self._path, data)
            return True


@contextmanager
def locked(lock_path: Path) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _consume(data: dict[str, Any], code: str, event: Inbound) -> bool:
    """Use up a live code meant for this platform (or any); add the user to the paired."""
    now = time.time()
    codes = [c for c in data.get("codes") or [] if c.get("expires", 0) > now]
    match = next(
        (
            c
            for c in codes
            if secrets.compare_digest(c["hash"], _digest(code))
            and c.get("platform") in (None, event.platform)
        ),
        None,
    )
    if match is None:
        return False
    codes.remove(match)
    data["codes"] = codes
    paired = data.setdefault("paired", {}).setdefault(event.platform, [])
    if event.user_id not in paired:
        paired.append(event.user_id)
    return True


def _note_refusal(data: dict[str, Any], event: Inbound) -> bool:
    refused = data.setdefault("refused", {}).setdefault(event.platform, [])
    if event.user_id in refused:
        return False
    refused.append(event.user_id)
    return True


def new_pairing_code(
    directory: Path, platform: str | None = None, ttl: float = DEFAULT_CODE_TTL
) -> str:
    """A fresh one-time code (shown as `ABCD-EFGH`); only its hash is stored."""
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    path = directory / "access.json"
    with locked(directory / "access.lock"):
        data = read_json(path, {})
        now = time.time()
        codes = [c for c in data.get("codes") or [] if c.get("expires", 0) > now]
        codes.append({"hash": _digest(code), "platform": platform, "expires": now + ttl})
        data["codes"] = codes
        write_json(path, data)
    return f"{code[:4]}-{code[4:]}"
