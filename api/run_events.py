"""The event log of one chat run: every event numbered, kept, and readable by many clients.

The worker thread appends; SSE handlers on the event loop read from a cursor and await new
events without holding a thread. A reconnecting client passes the last id it saw and gets
exactly what followed it; a finished run stays readable for a while, so a client that was
offline when the run ended still receives its ending.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Any

FINISHED_RETENTION_SECONDS = 300
TERMINAL_EVENTS = frozenset({"stream_end", "apperror", "cancel"})


@dataclass(frozen=True)
class RunEvent:
    seq: int
    name: str
    data: dict[str, Any]


class RunLog:
    def __init__(self, stream_id: str, session_id: str) -> None:
        self.stream_id = stream_id
        self.session_id = session_id
        self.events: list[RunEvent] = []
        self.finished_at: float | None = None
        self.ended = threading.Event()  # for threads that wait on a run's end
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = []

    def put(self, name: str, data: dict[str, Any]) -> RunEvent | None:
        """Append an event; None once the run has ended (a run ends exactly once)."""
        with self._lock:
            if self.finished_at is not None:
                return None
            event = RunEvent(len(self.events) + 1, name, data)
            self.events.append(event)
            if name in TERMINAL_EVENTS and self.finished_at is None:
                self.finished_at = time.monotonic()
                self.ended.set()
            waiters, self._waiters = self._waiters, []
        for loop, future in waiters:
            loop.call_soon_threadsafe(_wake, future)
        return event

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    def after(self, seq: int) -> list[RunEvent]:
        with self._lock:
            return self.events[seq:]

    async def wait_after(self, seq: int, timeout: float) -> list[RunEvent]:
        """Events after `seq`, waiting up to `timeout` seconds for the first one."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._lock:
            if len(self.events) > seq or self.finished_at is not None:
                return self.events[seq:]
            self._waiters.append((loop, future))
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            with self._lock:
                if (loop, future) in self._waiters:
                    self._waiters.remove((loop, future))
        return self.after(seq)


def _wake(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


def parse_event_id(value: str | None, stream_id: str) -> int:
    """The sequence number in `<stream_id>:<seq>`; 0 (from the start) when absent or foreign."""
    if not value:
        return 0
    sid, _, seq = value.rpartition(":")
    if sid != stream_id or not seq.isdigit():
        return 0
    return int(seq)


class RunRegistry:
    """Finished runs, kept readable for `FINISHED_RETENTION_SECONDS` after their end."""

    def __init__(self) -> None:
        self._runs: dict[str, RunLog] = {}
        self._lock = threading.Lock()

    def keep(self, log: RunLog) -> None:
        with self._lock:
            self._prune_locked()
            self._runs[log.stream_id] = log

    def get(self, stream_id: str) -> RunLog | None:
        with self._lock:
            self._prune_locked()
            return self._runs.get(stream_id)

    def _prune_locked(self) -> None:
        cutoff = time.monotonic() - FINISHED_RETENTION_SECONDS
        for stream_id in [s for s, log in self._runs.items() if (log.finished_at or 0) < cutoff]:
            del self._runs[stream_id]


FINISHED_RUNS = RunRegistry()
