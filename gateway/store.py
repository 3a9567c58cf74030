"""What the gateway remembers across restarts, under `$HERMES_HOME/gateway/`.

- `sessions.json`: each conversation's key → its current state.db session and model, so a
  chat goes on where it was after a restart (and after /new, /resume or a compression).
- `inbox.json`: per platform, the last update taken from it (the cursor), and the messages
  taken but not yet answered. The cursor and the new messages are written in one atomic
  replace *before* the platform is told they were received, so a restart neither asks for
  them again nor forgets them. A message whose turn had started when the process died is
  not run again (its tools may have run); the person is told to send it again. The inbox
  is written from a thread of its own (`FileWriter`).

Every write replaces the whole file atomically (`hermes_agent.durable.atomic_write`).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import orjson

from gateway.events import Inbound
from hermes_agent.durable import atomic_write

log = logging.getLogger(__name__)


def read_json(path: Path, default: Any) -> Any:
    """The file's JSON, or `default` when it is missing; a corrupt file is set aside (so
    it can be looked at) and `default` returned."""
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return default
    except orjson.JSONDecodeError as exc:
        aside = path.with_suffix(".corrupt")
        log.warning("%s is not valid JSON (%s); moved to %s", path, exc, aside)
        path.replace(aside)
        return default
    return data if isinstance(data, type(default)) else default


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, orjson.dumps(data, option=orjson.OPT_INDENT_2))


class FileWriter:
    """Writes the newest version of one file from a thread of its own, so the event loop
    never waits on the disk and a burst of changes costs one write. `wait(version)` returns
    once that version (or a newer one) is on disk, and raises if writing it failed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cond = threading.Condition()
        self._pending: bytes | None = None
        self._version = self._written = 0
        self._error: OSError | None = None
        threading.Thread(target=self._run, name=f"writer {path.name}", daemon=True).start()

    def submit(self, data: bytes) -> int:
        with self._cond:
            self._version += 1
            self._pending = data
            self._cond.notify_all()
            return self._version

    def wait(self, version: int) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._written >= version)
            if self._error is not None:
                raise self._error

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None)
                data, version, self._pending = self._pending, self._version, None
            error = None
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(self.path, data)
            except OSError as exc:
                log.error("could not write %s: %s", self.path, exc)
                error = exc
            with self._cond:
                self._written, self._error = version, error
                self._cond.notify_all()


class GatewayState:
    """The sessions map and the inbox. Thread-safe. Sessions are on disk when `save_session`
    returns, the inbox when `accept` returns; `started` and `done` are written moments later
    (a crash in between at worst repeats the notice about an interrupted message)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._sessions_path = directory / "sessions.json"
        self._inbox_path = directory / "inbox.json"
        self._inbox = FileWriter(self._inbox_path)
        self._sessions: dict[str, dict[str, Any]] = read_json(self._sessions_path, {})
        inbox = read_json(self._inbox_path, {})
        self._cursors: dict[str, int] = dict(inbox.get("cursors") or {})
        self._pending: dict[str, dict[str, Any]] = {
            item["event"]["platform"] + ":" + item["event"]["ref"]: item
            for item in inbox.get("pending") or []
        }

    # -- sessions --------------------------------------------------------------------------

    def session(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._sessions.get(key)
            return dict(entry) if entry else None

    def save_session(self, key: str, entry: dict[str, Any]) -> None:
        with self._lock:
            if self._sessions.get(key) == entry:
                return
            self._sessions[key] = dict(entry)
            write_json(self._sessions_path, self._sessions)

    def key_of_session(self, session_id: str) -> str | None:
        """The conversation whose current session is `session_id`, if any."""
        with self._lock:
            return next(
                (k for k, e in self._sessions.items() if e.get("session_id") == session_id), None
            )

    # -- inbox -----------------------------------------------------------------------------

    def cursor(self, platform: str) -> int | None:
        with self._lock:
            return self._cursors.get(platform)

    def accept(self, platform: str, cursor: int, events: list[Inbound]) -> None:
        """Record the platform's new cursor and the messages that came with it, at once;
        they are on disk when this returns (it waits: call it from a worker thread)."""
        with self._lock:
            self._cursors[platform] = cursor
            for event in events:
                self._pending[event.inbox_id] = {"event": event.to_json(), "started": False}
            version = self._write_inbox()
        self._inbox.wait(version)

    def started(self, event: Inbound) -> None:
        self._mark(event, started=True)

    def done(self, event: Inbound) -> None:
        self._mark(event, started=None)

    def answer_shown_in(self, event: Inbound, message_ref: str) -> None:
        """The answer to `event` now shows (at least partly) in this platform message."""
        with self._lock:
            if event.inbox_id in self._pending:
                self._pending[event.inbox_id]["answer_at"] = message_ref
                self._write_inbox()

    def flush(self) -> None:
        """Wait until every change so far is on disk (before the process exits)."""
        with self._lock:
            version = self._write_inbox()
        self._inbox.wait(version)

    def pending(self) -> list[tuple[Inbound, bool, str | None]]:
        """Messages taken but not answered, oldest first: whether their turn started, and the
        platform message its answer was last shown in, if any."""
        with self._lock:
            items = list(self._pending.values())
        return [
            (Inbound.from_json(item["event"]), bool(item["started"]), item.get("answer_at"))
            for item in items
        ]

    def _mark(self, event: Inbound, *, started: bool | None) -> None:
        with self._lock:
            if event.inbox_id not in self._pending:
                return
            if started is None:
                del self._pending[event.inbox_id]
            else:
                self._pending[event.inbox_id]["started"] = started
            self._write_inbox()

    def _write_inbox(self) -> int:
        """Hand the inbox as it is now to its writer (lock held); the version to wait for."""
        snapshot = {"cursors": self._cursors, "pending": list(self._pending.values())}
        return self._inbox.submit(orjson.dumps(snapshot, option=orjson.OPT_INDENT_2))
