"""One gateway per Hermes home.

Two gateways on one home would poll the same bot, each ending the other's polls with 409,
and share one inbox and state.db. The first one to start holds an exclusive lock on
`$HERMES_HOME/gateway.lock` (written with its pid) for as long as it runs; the system drops
the lock when the process ends, however it ends, so a killed gateway never blocks the next.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from hermes_agent.errors import ConfigError


@contextlib.contextmanager
def only_gateway(home: Path) -> Iterator[None]:
    """Hold the home's gateway lock for the block; ConfigError when another gateway has it."""
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "gateway.lock", "a+", encoding="utf-8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            pid = lock.read().strip() or "unknown"
            raise ConfigError(
                f"another hermes gateway (pid {pid}) is running on {home}; stop it first, "
                "or give this one a HERMES_HOME of its own"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        yield
