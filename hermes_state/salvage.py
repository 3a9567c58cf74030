"""Reading what SQLite still can from a damaged state.db, for `hermes state repair`.

The damaged file is copied first and only the copy is opened, so the evidence stays as it
was. Each table is read a range of row ids at a time; a range that fails is split, down to
single rows, so a bad page costs the rows on it and not the table. A budget of queries
per table bounds the work when little of it is readable.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TABLES = ("sessions", "messages", "cron_jobs")
QUERY_BUDGET = 20_000
_FIRST_RANGE = 1 << 20  # row ids tried when the table cannot even say its largest


@dataclass
class Salvage:
    """The rows read back, per table, and how much could not be."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    unreadable_ranges: int = 0
    error: str | None = None

    @property
    def empty(self) -> bool:
        return not any(self.rows.values())


def salvage(path: Path) -> Salvage:
    """Every row of `sessions` and `messages` that SQLite can read from the database at
    `path` (with its -wal beside it, if any), without writing to it."""
    with tempfile.TemporaryDirectory(prefix="hermes-salvage-") as scratch:
        copy = Path(scratch) / "damaged.db"
        for suffix in ("", "-wal"):
            source = Path(f"{path}{suffix}")
            if source.exists():
                shutil.copyfile(source, f"{copy}{suffix}")
        conn = sqlite3.connect(copy)
        conn.row_factory = sqlite3.Row
        try:
            return _read_tables(conn)
        finally:
            conn.close()


def _read_tables(conn: sqlite3.Connection) -> Salvage:
    result = Salvage()
    try:
        present = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as exc:  # not a database any more: nothing to read
        result.error = str(exc)
        return result
    for table in TABLES:
        if table not in present and table != "sessions":  # older: no such table yet
            continue
        top = _largest_rowid(conn, table, result)
        if top is None:
            continue
        reader = _RangeReader(conn, table)
        result.rows[table] = reader.read(1, top)
        result.unreadable_ranges += reader.failed
    return result


def _largest_rowid(conn: sqlite3.Connection, table: str, result: Salvage) -> int | None:
    """The table's largest row id, a generous guess when only its lower pages are sound,
    or None when its root is gone (then every range would fail: nothing to read)."""
    try:
        return conn.execute(f"SELECT MAX(rowid) FROM {table}").fetchone()[0] or 0
    except sqlite3.DatabaseError as exc:
        result.error = str(exc)
    try:
        conn.execute(f"SELECT rowid FROM {table} LIMIT 1").fetchall()
    except sqlite3.DatabaseError:
        result.unreadable_ranges += 1
        return None
    return _FIRST_RANGE


class _RangeReader:
    """Reads rows of one table by id range, splitting a range that SQLite cannot read."""

    def __init__(self, conn: sqlite3.Connection, table: str) -> None:
        self.query: Callable[[int, int], list[sqlite3.Row]] = lambda low, high: conn.execute(
            f"SELECT rowid AS _rowid, * FROM {table} WHERE rowid BETWEEN ? AND ? ORDER BY rowid",
            (low, high),
        ).fetchall()
        self.budget = QUERY_BUDGET
        self.failed = 0

    def read(self, low: int, high: int) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        pending = [(low, high)]
        while pending:
            low, high = pending.pop()
            if self.budget <= 0:
                self.failed += 1
                continue
            self.budget -= 1
            try:
                rows.extend(dict(row) for row in self.query(low, high))
            except sqlite3.DatabaseError:
                if low == high:
                    self.failed += 1
                    continue
                middle = (low + high) // 2
                pending += [(middle + 1, high), (low, middle)]
        rows.sort(key=lambda row: row["_rowid"])
        return rows


def damaged_copies(db_path: Path) -> list[Path]:
    """The copies of the database at `db_path` set aside as damaged, oldest first."""
    found = db_path.parent.glob(f"{db_path.name}.damaged-*")
    return sorted(p for p in found if not p.name.endswith(("-wal", "-shm", "-journal")))


def restored(store: Any, copy: Path) -> bool:
    """Whether `hermes state repair` already added what `copy` held to `store`."""
    return store.get_meta(_restored_key(copy.name)) is not None


RESTORED_PREFIX = "restored:"  # + a copy's file name: a state_meta key, once it was recovered


def _restored_key(label: str) -> str:
    return RESTORED_PREFIX + label


@dataclass(frozen=True)
class Restored:
    """What a repair added: counts, and the sessions stored under a new id because the
    current database already has one by that id (it went on after the damage)."""

    sessions: int
    messages: int
    renamed: dict[str, str]
    jobs: int = 0


def restore_into(conn: sqlite3.Connection, found: Salvage, label: str) -> Restored | None:
    """Add the salvaged rows to the database `conn` writes (inside its transaction); None
    when the copy called `label` was already restored. Messages get new row ids in their old
    order; a session whose id is taken is stored as `<id>-recovered`, titled to match."""
    key = _restored_key(label)
    if conn.execute("SELECT 1 FROM state_meta WHERE key = ?", (key,)).fetchone():
        return None
    ids = _SessionIds(conn)
    sessions = {
        row["id"]: row
        for row in found.rows.get("sessions", [])
        if row.get("id") and row.get("source") and row.get("started_at") is not None
    }
    for old_id, row in sessions.items():
        _insert(
            conn,
            "sessions",
            {
                **row,
                "id": ids.new(old_id),
                "parent_session_id": None,
                "title": _free_title(conn, row.get("title")),
            },
        )
    for old_id, row in sessions.items():
        parent = row.get("parent_session_id")
        if parent in ids.mapping:
            conn.execute(
                "UPDATE sessions SET parent_session_id = ? WHERE id = ?",
                (ids.mapping[parent], ids.mapping[old_id]),
            )
        delegator = row.get("delegated_from")
        if delegator in ids.mapping:  # a sub-agent follows its conversation to a new id
            conn.execute(
                "UPDATE sessions SET delegated_from = ? WHERE id = ?",
                (ids.mapping[delegator], ids.mapping[old_id]),
            )
    messages = 0
    for row in found.rows.get("messages", []):
        if not (row.get("session_id") and row.get("role") and row.get("timestamp") is not None):
            continue  # torn beyond use
        if row["session_id"] not in ids.mapping:  # its session row was on a bad page
            _insert(
                conn,
                "sessions",
                {
                    "id": ids.new(row["session_id"]),
                    "source": "recovered",
                    "started_at": row["timestamp"],
                },
            )
        _insert(conn, "messages", {**row, "id": None, "session_id": ids.mapping[row["session_id"]]})
        messages += 1
    jobs = _restore_jobs(conn, found.rows.get("cron_jobs", []))
    conn.execute("INSERT INTO state_meta (key, value) VALUES (?, ?)", (key, str(messages)))
    renamed = {old: new for old, new in ids.mapping.items() if old != new}
    return Restored(len(ids.mapping), messages, renamed, jobs)


def _restore_jobs(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> int:
    """Scheduled jobs the current database lacks (by id); their missed slots then follow
    `cron_missed`, as after any downtime. Their run history is not brought back."""
    added = 0
    for row in rows:
        complete = all(row.get(k) is not None for k in ("id", "prompt", "schedule", "timezone"))
        taken = (
            complete
            and conn.execute("SELECT 1 FROM cron_jobs WHERE id = ?", (row["id"],)).fetchone()
        )
        if complete and not taken:
            _insert(conn, "cron_jobs", row)
            added += 1
    return added


class _SessionIds:
    """Old session id → the id it is stored under, never one the database already has."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.mapping: dict[str, str] = {}

    def new(self, old_id: str) -> str:
        candidate, n = old_id, 1
        while self.conn.execute("SELECT 1 FROM sessions WHERE id = ?", (candidate,)).fetchone():
            candidate = f"{old_id}-recovered" + (f"-{n}" if n > 1 else "")
            n += 1
        self.mapping[old_id] = candidate
        return candidate


def _free_title(conn: sqlite3.Connection, title: Any) -> str | None:
    """The title, or it marked as recovered when the current database already uses it."""
    for candidate in (title, f"{title} (recovered)"):
        taken = conn.execute("SELECT 1 FROM sessions WHERE title = ?", (candidate,)).fetchone()
        if candidate and not taken:
            return candidate
    return None


def _insert(conn: sqlite3.Connection, table: str, row: dict[str, Any]) -> None:
    columns = [c[1] for c in conn.execute(f"PRAGMA table_info({table})") if c[1] in row]
    columns = [c for c in columns if row[c] is not None]
    marks = ", ".join("?" * len(columns))
    conn.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", [row[c] for c in columns]
    )
