"""Login cookies ended before their expiry: by logging out.

A signed cookie stays valid until it expires unless the server remembers that it was ended.
Each cookie carries a random id; logging out records that id with the cookie's expiry in a
small file in the state dir (written atomically, so a restart still refuses it), and ids are
forgotten once their cookie would have expired anyway, so the file stays small.

If the file cannot be read, no list can be trusted: every cookie issued until then is ended
(`ended_before`), which asks everyone to log in again rather than reviving ended sessions.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from hermes_agent.durable import atomic_write

log = logging.getLogger(__name__)


@dataclass
class _Revoked:
    ids: dict[str, int] = field(default_factory=dict)  # cookie id -> its expiry
    ended_before: float = 0.0  # cookies issued before this time are all ended


class RevokedCookies:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._state: _Revoked | None = None

    def is_revoked(self, cookie_id: str, issued_at: float) -> bool:
        with self._lock:
            state = self._loaded()
            return issued_at < state.ended_before or cookie_id in state.ids

    def not_before(self) -> float:
        """The earliest issue time a new cookie may carry and still be valid."""
        with self._lock:
            return self._loaded().ended_before

    def revoke(self, cookie_id: str, expires_at: int) -> None:
        with self._lock:
            state = self._loaded()
            now = time.time()
            state.ids = {k: v for k, v in state.ids.items() if v > now}
            state.ids[cookie_id] = expires_at
            self._save(state)

    def _loaded(self) -> _Revoked:
        if self._state is None:
            self._state = self._read()
        return self._state

    def _save(self, state: _Revoked) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        data = {"ids": state.ids, "ended_before": state.ended_before}
        atomic_write(self._path, orjson.dumps(data))

    def _read(self) -> _Revoked:
        try:
            data = orjson.loads(self._path.read_bytes())
            return _Revoked(
                {str(k): int(v) for k, v in data["ids"].items()}, float(data["ended_before"])
            )
        except FileNotFoundError:
            return _Revoked()
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            log.error("cannot read %s (%s): ending every login session", self._path, exc)
            # Cookies carry whole seconds: every one issued up to this second ends, and new
            # ones are dated from the next (`not_before`).
            state = _Revoked(ended_before=int(time.time()) + 1)
            self._save(state)
            return state
