"""The scheduler's time: the system clock, or a file that holds the time (for tests).

`HERMES_CRON_CLOCK=/path/to/file` makes every scheduler of the process read the time from that
file (epoch seconds), so tests can move time forward, across processes, past daylight-saving
changes and downtime, without waiting. Nothing else reads it.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Protocol

FILE_POLL_SECONDS = 0.05


class Clock(Protocol):
    def now(self) -> float: ...

    def sleep(self, seconds: float, wake: threading.Event) -> None:
        """Return after `seconds` of this clock's time, or as soon as `wake` is set."""


class SystemClock:
    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float, wake: threading.Event) -> None:
        wake.wait(max(0.0, seconds))


class FileClock:
    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> float:
        try:
            return float(self.path.read_text().strip())
        except (OSError, ValueError):
            return time.time()

    def sleep(self, seconds: float, wake: threading.Event) -> None:
        until = self.now() + seconds
        while self.now() < until and not wake.wait(FILE_POLL_SECONDS):
            pass

    def set(self, moment: float) -> None:
        """Move the time (tests)."""
        temp = self.path.with_suffix(".tmp")
        temp.write_text(repr(moment))
        temp.replace(self.path)


def clock_from_env() -> Clock:
    path = os.environ.get("HERMES_CRON_CLOCK", "").strip()
    return FileClock(Path(path)) if path else SystemClock()
