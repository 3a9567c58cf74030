"""SessionDB's upkeep: deleting and pruning sessions, state_meta, and VACUUM.

Kept apart from the core because these are the bulk, destructive or housekeeping operations:
deleting rows in chunks (detaching children for the foreign key), removing a session's files
next to its rows, the age-based prunes, and VACUUM, the one write that cannot run inside
`_execute_write`'s transaction.
"""

from __future__ import annotations

import glob
import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from hermes_state.salvage import Restored, Salvage, restore_into

# The whole package logs as "hermes_state", the name log configuration and filters refer to.
log = logging.getLogger("hermes_state")

ORPHAN_CONTINUATION_AGE_S = 7 * 86400
GHOST_SESSION_AGE_S = 86400
_SQL_CHUNK = 500


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), _SQL_CHUNK):
        yield items[start : start + _SQL_CHUNK]


def _sub_agent_sessions(conn: sqlite3.Connection, ids: list[str]) -> list[str]:
    """The sessions delegated from `ids` at any depth, with their own continuations: a
    sub-agent's work is part of the conversation that delegated it, and goes with it."""
    found: dict[str, None] = {}  # in the order found, without repeats
    for chunk in _chunks(ids):
        marks = ", ".join("?" * len(chunk))
        rows = conn.execute(
            "WITH RECURSIVE sub(id) AS ("
            f"SELECT id FROM sessions WHERE delegated_from IN ({marks}) "
            "UNION SELECT s.id FROM sessions AS s JOIN sub "
            "ON s.delegated_from = sub.id OR s.parent_session_id = sub.id"
            ") SELECT id FROM sub",
            chunk,
        )
        found.update((row[0], None) for row in rows)
    given = set(ids)
    return [sid for sid in found if sid not in given]


def _delete_rows(conn: sqlite3.Connection, ids: list[str]) -> int:
    """Delete sessions, their sub-agents' sessions and the messages of both; their other
    children stay, detached (the FK needs it)."""
    ids = [*ids, *_sub_agent_sessions(conn, ids)]
    deleted = 0
    for chunk in _chunks(ids):
        marks = ", ".join("?" * len(chunk))
        conn.execute(
            f"UPDATE sessions SET parent_session_id = NULL WHERE parent_session_id IN ({marks})",
            chunk,
        )
        conn.execute(f"DELETE FROM messages WHERE session_id IN ({marks})", chunk)
        deleted += conn.execute(f"DELETE FROM sessions WHERE id IN ({marks})", chunk).rowcount
    return deleted


def _remove_session_files(sessions_dir: str | os.PathLike[str] | None, ids: list[str]) -> None:
    if sessions_dir is None:
        return
    directory = Path(sessions_dir)
    for sid in ids:
        if not sid or sid in (".", "..") or Path(sid).name != sid:
            log.warning("not removing files for unsafe session id %r", sid)
            continue
        dumps = directory.glob(f"request_dump_{glob.escape(sid)}_*.json")
        for path in (directory / f"{sid}.json", directory / f"{sid}.jsonl", *dumps):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("could not remove %s: %s", path, exc)


class MaintenanceMixin:
    """The deletion and upkeep methods of SessionDB; they rely on its `_read`, `_execute_write`
    and `_transact`."""

    # -- deletion and maintenance ------------------------------------------------------------

    def delete_session(
        self, session_id: str, sessions_dir: str | os.PathLike[str] | None = None
    ) -> bool:
        """Delete a session, its messages and its sub-agents' sessions (other children are
        kept, detached) and, given `sessions_dir`, its transcript and request-dump files.
        False when it did not exist."""
        deleted = self._execute_write(lambda conn: _delete_rows(conn, [session_id])) > 0
        if deleted:
            _remove_session_files(sessions_dir, [session_id])
        return deleted

    def _delete_where(
        self, condition: str, params: Sequence[Any], sessions_dir: str | os.PathLike[str] | None
    ) -> int:
        def write(conn: sqlite3.Connection) -> list[str]:
            ids = [
                row["id"]
                for row in conn.execute(f"SELECT s.id FROM sessions AS s WHERE {condition}", params)
            ]
            _delete_rows(conn, ids)
            return ids

        ids = self._execute_write(write)
        _remove_session_files(sessions_dir, ids)
        return len(ids)

    def prune_sessions(
        self,
        older_than_days: float = 90,
        source: str | None = None,
        sessions_dir: str | os.PathLike[str] | None = None,
    ) -> int:
        """Delete ENDED sessions started more than `older_than_days` ago; open ones stay."""
        condition = "s.ended_at IS NOT NULL AND s.started_at < ?"
        params: list[Any] = [time.time() - older_than_days * 86400]
        if source is not None:
            condition += " AND s.source = ?"
            params.append(source)
        return self._delete_where(condition, params, sessions_dir)

    def prune_empty_ghost_sessions(self, sessions_dir: str | os.PathLike[str] | None = None) -> int:
        """Delete ended, untitled terminal sessions over a day old that never got a message."""
        return self._delete_where(
            "s.source = 'tui' AND s.title IS NULL AND s.ended_at IS NOT NULL "
            "AND s.started_at < ? "
            "AND NOT EXISTS (SELECT 1 FROM messages AS m WHERE m.session_id = s.id)",
            [time.time() - GHOST_SESSION_AGE_S],
            sessions_dir,
        )

    def finalize_orphaned_compression_sessions(self) -> int:
        """End compression continuations that were never finalized; returns how many.

        Non-destructive: it only sets `end_reason='orphaned_compression'`. A row qualifies when
        it made no API call, is still open, started over 7 days ago (so a live session is never
        touched), has a parent ended by compression, and holds at least one message (empty rows
        are left to `prune_empty_ghost_sessions`).
        """
        now = time.time()
        cutoff = now - ORPHAN_CONTINUATION_AGE_S
        return self._write_one(
            """UPDATE sessions SET ended_at = ?, end_reason = 'orphaned_compression'
            WHERE api_call_count = 0
              AND end_reason IS NULL AND ended_at IS NULL
              AND started_at < ?
              AND parent_session_id IS NOT NULL
              AND EXISTS (SELECT 1 FROM sessions AS p WHERE p.id = sessions.parent_session_id
                          AND p.end_reason = 'compression' AND p.ended_at IS NOT NULL)
              AND EXISTS (SELECT 1 FROM messages AS m WHERE m.session_id = sessions.id)""",
            (now, cutoff),
        )

    def data_version(self) -> int:
        """A number that changes whenever another connection (another process) commits, so a
        reader may keep what it derived from the store until it does."""
        return self._read(lambda conn: conn.execute("PRAGMA data_version").fetchone()[0])

    def change_mark(self) -> tuple[int, int, int]:
        """A value that changes whenever anything is committed to the store, by this process
        too (`data_version` counts only the others): the connection, its count of the other
        connections' commits, and the rows it changed itself."""
        return self._read(
            lambda conn: (
                id(conn),
                conn.execute("PRAGMA data_version").fetchone()[0],
                conn.total_changes,
            )
        )

    def get_meta(self, key: str) -> str | None:
        row = self._fetch_one("SELECT value FROM state_meta WHERE key = ?", (key,))
        return row["value"] if row else None

    def set_meta(self, key: str, value: str | None) -> None:
        self._write_one(
            "INSERT INTO state_meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def vacuum(self) -> None:
        """Rebuild the file to reclaim deleted space, then fold the WAL back into it.

        VACUUM cannot run inside a transaction, so this is the one write that does not go
        through `_execute_write`; it still holds the lock and retries while the database is busy.
        """

        def run(conn: sqlite3.Connection) -> None:
            conn.execute("VACUUM")
            if self.journal_mode == "wal":  # VACUUM wrote the rebuilt pages to the WAL
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

        self._transact(run, None, write=False)

    def restore_salvaged(self, found: Salvage, label: str) -> Restored | None:
        """Add rows read from a damaged copy of this database, once per copy (`label`)."""
        return self._execute_write(lambda conn: restore_into(conn, found, label))
