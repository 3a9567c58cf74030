"""Where state.db lives, opening it safely, and remembering why it could not be opened.

Kept apart from the store so the filesystem and journal-mode concerns (private file modes,
refusing planted symlinks, the WAL fallback for filesystems that cannot share WAL memory, and
telling lock contention from real failures) live in one place, with the process-wide record of
the last open failure that surfaces report when they run without the store.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path

from hermes_agent.errors import StoreError

# The whole package logs as "hermes_state", the name log configuration and filters refer to.
log = logging.getLogger("hermes_state")


# -- paths ------------------------------------------------------------------------------------


def get_hermes_home() -> Path:
    """`$HERMES_HOME`, else `~/.hermes`; read on every call so tests and tools can redirect it."""
    return Path(os.environ.get("HERMES_HOME") or Path.home() / ".hermes").expanduser()


def default_db_path() -> Path:
    return get_hermes_home() / "state.db"


# -- why the store is unavailable -------------------------------------------------------------

_WAL_INCOMPATIBLE = ("locking protocol", "not authorized", "disk i/o error")
_WAL_HINT = " (state.db may be on NFS/SMB/FUSE — see https://www.sqlite.org/wal.html)"
_last_init_error: str | None = None
_module_lock = threading.Lock()
_wal_warned: set[str] = set()


def _set_last_init_error(message: str) -> None:
    global _last_init_error
    with _module_lock:
        _last_init_error = message


def get_last_init_error() -> str | None:
    """The last reason a SessionDB failed to open in this process (kept after later successes)."""
    with _module_lock:
        return _last_init_error


def format_session_db_unavailable(prefix: str = "Session database not available") -> str:
    """A one-line message for surfaces that run without the store, naming the cause if known."""
    cause = get_last_init_error()
    if not cause:
        return f"{prefix}."
    hint = _WAL_HINT if any(m in cause.lower() for m in _WAL_INCOMPATIBLE) else ""
    return f"{prefix}: {cause}{hint}."


def apply_wal_with_fallback(conn: sqlite3.Connection, db_label: str = "state.db") -> str:
    """Switch to WAL; on filesystems that cannot share WAL memory, use the DELETE journal.

    Returns the journal mode in force. Only the known WAL-incompatibility errors fall back (with
    one warning per database per process); anything else is a real failure and propagates.
    """
    try:
        row = conn.execute("PRAGMA journal_mode=WAL").fetchone()
    except sqlite3.OperationalError as exc:
        if not any(m in str(exc).lower() for m in _WAL_INCOMPATIBLE):
            raise
        with _module_lock:
            first = db_label not in _wal_warned
            _wal_warned.add(db_label)
        if first:
            log.warning("%s: WAL unavailable (%s); using the DELETE journal", db_label, exc)
        row = conn.execute("PRAGMA journal_mode=DELETE").fetchone()
    return str(row[0]).lower()


# -- opening the file -------------------------------------------------------------------------


def _refuse_symlinks(path: Path) -> None:
    """A symlink planted at the database (or its journal) would redirect private transcripts."""
    for candidate in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        if candidate.is_symlink():
            raise StoreError(f"Refusing to open {path}: {candidate.name} is a symbolic link")


def _create_private_file(path: Path) -> None:
    """Create the database 0600 before SQLite opens it; SQLite gives its WAL the same mode."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _refuse_symlinks(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def _open_connection(path: Path, busy_timeout_s: float) -> tuple[sqlite3.Connection, str]:
    _create_private_file(path)
    conn = sqlite3.connect(
        str(path), check_same_thread=False, timeout=busy_timeout_s, isolation_level=None
    )
    try:
        _refuse_symlinks(path)  # again: closes the window between the first check and connect
        conn.row_factory = sqlite3.Row
        mode = apply_wal_with_fallback(conn, db_label=str(path))
        # WAL + NORMAL never corrupts and never loses a commit when a process crashes; only a
        # power cut can drop the newest commits (the WAL is synced at every checkpoint, which we
        # run every _CHECKPOINT_EVERY_N_WRITES writes). FULL adds an fsync per commit, ~4 ms
        # here, four times the 1 ms append budget. The DELETE journal can corrupt on power loss
        # with NORMAL, so that fallback keeps FULL.
        conn.execute("PRAGMA synchronous=" + ("NORMAL" if mode == "wal" else "FULL"))
        conn.execute("PRAGMA foreign_keys=ON")
    except BaseException:
        conn.close()
        raise
    return conn, mode


def _is_contention(exc: sqlite3.OperationalError) -> bool:
    message = str(exc).lower()
    return "locked" in message or "busy" in message
