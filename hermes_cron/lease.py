"""Which process runs the jobs: the one holding an exclusive lock on a file in the home.

Every long-running process (`hermes web`, `hermes gateway`) may run jobs; one at a time does.
The lock is the heartbeat: the kernel drops it the moment its holder dies (even by kill -9),
so another process takes over at its next try, and holding it costs no disk writes. Whoever
takes it records itself in state.db's `cron_lease` (who, since when, last seen at a slot), so
the user can see which process runs the jobs.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import socket
from pathlib import Path


class Lease:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.holder = runner_name()
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_take(self) -> bool:
        """Take the lease if nobody holds it; never waits."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def runner_name() -> str:
    """Who runs something, as runs record it: host:pid:token (the token tells apart two
    runners of one process)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def runner_alive(runner: str) -> bool:
    """Whether the process named by a run's `runner` (host:pid:token) may still be running it:
    on this host, whether that pid lives; on another, assume it does."""
    host, _, rest = runner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return host != socket.gethostname()
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
