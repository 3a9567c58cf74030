"""SQLite's errors, translated into the project's `StoreError` at the package's edge.

SessionDB reaches SQLite only while opening, in `_transact` (every read and write, after its
retries on contention) and in `close`, and each of those runs inside `translated`; so no
`sqlite3.Error` leaves `hermes_state`, and a second store backend can raise the same errors.
The message says what happened to the file in words a user can act on, names the file and
ends with SQLite's own text; the sqlite3 exception stays chained as the cause.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hermes_agent.errors import StoreError

# What a SQLite result code means, said of the database file: an extended code when it says
# more than its primary code, else the primary code.
_MEANINGS = {
    sqlite3.SQLITE_CORRUPT: "is damaged; restore it from a backup, or move it aside to start anew",
    sqlite3.SQLITE_NOTADB: "is not a SQLite database: it was damaged or overwritten",
    sqlite3.SQLITE_READONLY: "is read-only, so the change was not saved",
    sqlite3.SQLITE_READONLY_DIRECTORY: "cannot be written: its directory is read-only",
    sqlite3.SQLITE_CANTOPEN: "cannot be opened: it and its directory must be writable",
    sqlite3.SQLITE_PERM: "cannot be opened: permission denied",
    sqlite3.SQLITE_FULL: "could not be written: the disk is full",
    sqlite3.SQLITE_IOERR: "could not be read or written: the disk reported an I/O error",
    sqlite3.SQLITE_BUSY: "is locked by another process, which held it for too long",
    sqlite3.SQLITE_LOCKED: "is locked by another connection of this process",
    sqlite3.SQLITE_CONSTRAINT: "refused the change",
    # every foreign key in the schema points at a session
    sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY: (
        "refused the change: it refers to a session that does not exist"
    ),
}


def describe(exc: sqlite3.Error, path: Path) -> str:
    """One readable sentence about what happened to the database at `path`."""
    code = getattr(exc, "sqlite_errorcode", None)  # absent on errors raised by Python itself
    meaning = "could not be used"
    if isinstance(code, int):
        meaning = _MEANINGS.get(code) or _MEANINGS.get(code & 0xFF, meaning)
    return f"{path} {meaning} ({exc})"


_DAMAGE = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


@contextmanager
def translated(path: Path) -> Iterator[None]:
    """Raise any sqlite3 error from the block as a StoreError describing it."""
    try:
        yield
    except sqlite3.Error as exc:
        code = getattr(exc, "sqlite_errorcode", None)
        damaged = isinstance(code, int) and (code & 0xFF) in _DAMAGE
        raise StoreError(describe(exc, path), damaged=damaged) from exc
