"""SessionDB's core: the connection, the transaction helpers, session lifecycle and titles.

This is where the concurrency rules of the store are kept: one connection per SessionDB behind
one non-reentrant lock, every write one `BEGIN IMMEDIATE` transaction run by `_execute_write`,
reads in one snapshot, retries only on contention. The methods for messages, listing and
search, and maintenance come from mixins that use only these helpers.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from hermes_agent.errors import BadRequest, Conflict, StoreError
from hermes_state.connection import (
    _is_contention,
    _open_connection,
    _set_last_init_error,
    default_db_path,
)
from hermes_state.cron import CronMixin
from hermes_state.failures import translated
from hermes_state.maintenance import MaintenanceMixin
from hermes_state.queries import QueriesMixin
from hermes_state.schema import SCHEMA_VERSION, _apply_migrations, _schema_version
from hermes_state.transcripts import MessagesMixin

# The whole package logs as "hermes_state", the name log configuration and filters refer to.
log = logging.getLogger("hermes_state")

T = TypeVar("T")

MAX_TITLE_LENGTH = 100
_MAX_CHAR = "\U0010ffff"  # sorts after every character: `x <= s < x + _MAX_CHAR` is a prefix test


# -- errors -----------------------------------------------------------------------------------


class TitleTooLong(BadRequest, ValueError):
    """A title longer than MAX_TITLE_LENGTH; a ValueError for callers of the original API."""


class TitleInUse(Conflict, ValueError):
    """Another session already has the title; titles are unique across the whole store."""


# -- titles and token columns -----------------------------------------------------------------

_TITLE_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffc]"
)
_LINEAGE_SUFFIX = re.compile(r"^(.*) #(\d+)$", re.DOTALL)

_TOKEN_COLUMNS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "api_call_count",
)


class SessionDB(MessagesMixin, QueriesMixin, MaintenanceMixin, CronMixin):
    """Sessions, messages and search for every surface, in one SQLite file.

    Thread-safe within a process (one lock around the one connection) and safe across processes
    (WAL, `BEGIN IMMEDIATE`, retry while another process holds the write lock).

    Messages come from `MessagesMixin`, listing and search from `QueriesMixin`, deletion and
    upkeep from `MaintenanceMixin`, scheduled jobs from `CronMixin`; all of them go through the
    transaction helpers here.
    """

    _WRITE_MAX_RETRIES = 15
    _RETRY_JITTER_S = (0.020, 0.150)
    _CHECKPOINT_EVERY_N_WRITES = 50
    _BUSY_TIMEOUT_S = 1.0

    def __init__(self, db_path: str | os.PathLike[str] | None = None) -> None:
        self.db_path = Path(db_path) if db_path else default_db_path()
        self._lock = threading.Lock()
        self._write_count = 0
        self._conn: sqlite3.Connection | None = None
        self.journal_mode = ""
        try:
            with translated(self.db_path):
                self._conn, self.journal_mode = _open_connection(self.db_path, self._BUSY_TIMEOUT_S)
            self._init_schema()
        except Exception as exc:
            _set_last_init_error(f"{type(exc).__name__}: {exc}")
            self.close()
            raise

    def __enter__(self) -> SessionDB:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _init_schema(self) -> None:
        version = self._read(_schema_version)
        if version > SCHEMA_VERSION:
            log.warning(
                "%s is at schema version %d, newer than this program's %d; continuing",
                self.db_path,
                version,
                SCHEMA_VERSION,
            )
        if version >= SCHEMA_VERSION:
            return
        applied = self._execute_write(_apply_migrations)
        if applied:
            log.info("%s: applied migrations %s", self.db_path, ", ".join(applied))

    # -- transactions ------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("SessionDB is closed")
        return self._conn

    def _execute_write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(conn)` in one `BEGIN IMMEDIATE` transaction and return its result.

        Any error rolls the whole transaction back. Only "locked"/"busy" errors (another process
        holds the write lock past the busy timeout) are retried, after a jittered sleep taken
        outside the lock so this process's other threads are not held up. `fn` must not call
        SessionDB methods: the lock is not re-entrant.
        """
        return self._transact(fn, "BEGIN IMMEDIATE", write=True)

    def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(conn)` in one read transaction: its queries see one consistent snapshot."""
        return self._transact(fn, "BEGIN", write=False)

    def _transact(
        self, fn: Callable[[sqlite3.Connection], T], begin: str | None, *, write: bool
    ) -> T:
        """Run `fn` under the lock (in a transaction opened with `begin`, if given), retrying
        while another process holds the database. Every query of the store runs here, so this
        is where a sqlite3 error that outlasts the retries becomes a StoreError."""
        attempt = 0
        with translated(self.db_path):
            while True:
                attempt += 1
                try:
                    with self._lock:
                        return self._transact_once(fn, begin, write)
                except sqlite3.OperationalError as exc:
                    if attempt >= self._WRITE_MAX_RETRIES or not _is_contention(exc):
                        raise
                time.sleep(random.uniform(*self._RETRY_JITTER_S))

    def _transact_once(
        self, fn: Callable[[sqlite3.Connection], T], begin: str | None, write: bool
    ) -> T:
        conn = self._connection()
        if begin is None:
            return fn(conn)
        conn.execute(begin)
        try:
            result = fn(conn)
            conn.commit()
        except BaseException:
            if conn.in_transaction:
                try:
                    conn.rollback()
                except sqlite3.Error as exc:
                    log.warning("rollback failed: %s", exc)
            raise
        if write:
            self._write_count += 1
            if self._write_count % self._CHECKPOINT_EVERY_N_WRITES == 0:
                self._try_wal_checkpoint(conn)
        return result

    def _try_wal_checkpoint(self, conn: sqlite3.Connection) -> None:
        """Keep the WAL short and synced; a checkpoint blocked by readers is retried later."""
        if self.journal_mode != "wal":
            return
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:
            log.debug("passive checkpoint skipped: %s", exc)

    def _write_one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """One statement in its own write transaction; returns how many rows it changed."""
        return self._execute_write(lambda conn: conn.execute(sql, params).rowcount)

    def _fetch_one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        return self._read(lambda conn: conn.execute(sql, params).fetchone())

    def close(self) -> None:
        with self._lock, translated(self.db_path):
            if self._conn is None:
                return
            self._try_wal_checkpoint(self._conn)
            self._conn.close()
            self._conn = None

    # -- session lifecycle -------------------------------------------------------------------

    def create_session(
        self,
        session_id: str,
        source: str,
        *,
        model: str | None = None,
        model_config: dict | str | None = None,
        system_prompt: str | None = None,
        user_id: str | None = None,
        parent_session_id: str | None = None,
        delegated_from: str | None = None,
    ) -> str:
        """Record a session (an existing id is left unchanged). A missing parent raises
        StoreError: the foreign key is enforced even by INSERT OR IGNORE. `delegated_from`:
        the session whose delegate_task call runs this one."""
        if isinstance(model_config, dict):
            model_config = json.dumps(model_config, ensure_ascii=False) if model_config else None
        self._write_one(
            "INSERT OR IGNORE INTO sessions (id, source, user_id, model, model_config, "
            "system_prompt, parent_session_id, delegated_from, started_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session_id,
                source,
                user_id,
                model,
                model_config,
                system_prompt,
                parent_session_id,
                delegated_from,
                time.time(),
            ),
        )
        return session_id

    def ensure_session(
        self,
        session_id: str,
        source: str = "unknown",
        model: str | None = None,
        **fields: Any,
    ) -> str:
        """`create_session` for callers that only need the row to exist."""
        return self.create_session(session_id, source, model=model, **fields)

    def end_session(self, session_id: str, end_reason: str) -> bool:
        """End an open session. The first end wins, so a late call cannot overwrite
        `end_reason='compression'`; returns whether this call ended it."""
        changed = self._write_one(
            "UPDATE sessions SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL",
            (time.time(), end_reason, session_id),
        )
        return changed > 0

    def reopen_session(self, session_id: str) -> bool:
        changed = self._write_one(
            "UPDATE sessions SET ended_at = NULL, end_reason = NULL WHERE id = ?", (session_id,)
        )
        return changed > 0

    def get_session(self, session_id: str) -> dict[str, Any] | None:
        row = self._fetch_one("SELECT * FROM sessions WHERE id = ?", (session_id,))
        return dict(row) if row else None

    def resolve_session_id(self, id_or_prefix: str) -> str | None:
        """The exact id, else the only id starting with the prefix, else None."""

        def resolve(conn: sqlite3.Connection) -> str | None:
            if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (id_or_prefix,)).fetchone():
                return id_or_prefix
            rows = conn.execute(
                "SELECT id FROM sessions WHERE id >= ? AND id < ? LIMIT 2",
                (id_or_prefix, id_or_prefix + _MAX_CHAR),
            ).fetchall()
            return rows[0]["id"] if len(rows) == 1 else None

        return self._read(resolve) if id_or_prefix else None

    def update_system_prompt(self, session_id: str, prompt: str | None) -> bool:
        changed = self._write_one(
            "UPDATE sessions SET system_prompt = ? WHERE id = ?", (prompt, session_id)
        )
        return changed > 0

    def update_token_counts(
        self,
        session_id: str,
        input_tokens: int = 0,
        output_tokens: int = 0,
        *,
        model: str | None = None,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        reasoning_tokens: int = 0,
        estimated_cost_usd: float | None = None,
        actual_cost_usd: float | None = None,
        cost_status: str | None = None,
        cost_source: str | None = None,
        pricing_version: str | None = None,
        billing_provider: str | None = None,
        billing_base_url: str | None = None,
        billing_mode: str | None = None,
        api_call_count: int = 0,
        absolute: bool = False,
    ) -> None:
        """Add per-call deltas (the CLI), or with `absolute=True` set cumulative totals (the
        gateway). Costs change only when given; cost labels overwrite only with a value;
        billing fields and the model are filled in once. A missing row is created first."""
        params = {
            "id": session_id,
            "now": time.time(),
            "model": model,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_read_tokens": cache_read_tokens,
            "cache_write_tokens": cache_write_tokens,
            "reasoning_tokens": reasoning_tokens,
            "api_call_count": api_call_count,
            "estimated": estimated_cost_usd,
            "actual": actual_cost_usd,
            "cost_status": cost_status,
            "cost_source": cost_source,
            "pricing_version": pricing_version,
            "billing_provider": billing_provider,
            "billing_base_url": billing_base_url,
            "billing_mode": billing_mode,
        }
        if absolute:
            counters = [f"{c} = :{c}" for c in _TOKEN_COLUMNS]
            cost = "{0}_cost_usd = COALESCE(:{0}, {0}_cost_usd)"
        else:
            counters = [f"{c} = COALESCE({c}, 0) + :{c}" for c in _TOKEN_COLUMNS]
            cost = (
                "{0}_cost_usd = CASE WHEN :{0} IS NULL THEN {0}_cost_usd "
                "ELSE COALESCE({0}_cost_usd, 0) + :{0} END"
            )
        assignments = [
            *counters,
            *(cost.format(kind) for kind in ("estimated", "actual")),
            *(
                f"{c} = COALESCE(:{c}, {c})"
                for c in ("cost_status", "cost_source", "pricing_version")
            ),
            *(
                f"{c} = COALESCE({c}, :{c})"
                for c in ("billing_provider", "billing_base_url", "billing_mode", "model")
            ),
        ]

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR IGNORE INTO sessions (id, source, started_at) "
                "VALUES (:id, 'unknown', :now)",
                params,
            )
            conn.execute(f"UPDATE sessions SET {', '.join(assignments)} WHERE id = :id", params)

        self._execute_write(write)

    # -- titles ------------------------------------------------------------------------------

    @staticmethod
    def sanitize_title(title: str | None) -> str | None:
        """Strip control and invisible characters, collapse whitespace; None when empty.

        Raises TitleTooLong (a ValueError) past MAX_TITLE_LENGTH characters.
        """
        if not title:
            return None
        clean = " ".join(_TITLE_INVISIBLE.sub("", title).split())
        if not clean:
            return None
        if len(clean) > MAX_TITLE_LENGTH:
            raise TitleTooLong(f"Title too long ({len(clean)} chars, max {MAX_TITLE_LENGTH})")
        return clean

    def set_session_title(self, session_id: str, title: str | None) -> bool:
        """Set (or with an empty title, clear) a title; False when the session row does not
        exist yet. Raises TitleInUse (a ValueError) when another session has the title."""
        clean = self.sanitize_title(title)

        def write(conn: sqlite3.Connection) -> bool:
            if clean is not None:
                owner = conn.execute(
                    "SELECT id FROM sessions WHERE title = ? AND id != ?", (clean, session_id)
                ).fetchone()
                if owner is not None:
                    raise TitleInUse(f"Title '{clean}' is already in use by session {owner['id']}")
            cursor = conn.execute("UPDATE sessions SET title = ? WHERE id = ?", (clean, session_id))
            return cursor.rowcount > 0

        return self._execute_write(write)

    def get_session_title(self, session_id: str) -> str | None:
        row = self._fetch_one("SELECT title FROM sessions WHERE id = ?", (session_id,))
        return row["title"] if row else None

    def get_session_by_title(self, title: str) -> dict[str, Any] | None:
        row = self._fetch_one("SELECT * FROM sessions WHERE title = ?", (title,))
        return dict(row) if row else None

    def _lineage_titles(self, base: str) -> list[sqlite3.Row]:
        """Sessions titled `base` or `base #<anything>`, newest first."""
        numbered = base + " #"
        return self._read(
            lambda conn: conn.execute(
                "SELECT id, title FROM sessions WHERE title = ? OR (title >= ? AND title < ?) "
                "ORDER BY started_at DESC",
                (base, numbered, numbered + _MAX_CHAR),
            ).fetchall()
        )

    def resolve_session_by_title(self, title: str) -> str | None:
        """The newest "title #N" continuation if there is one, else the exact title's session."""
        rows = self._lineage_titles(title)
        for row in rows:
            numbered = _LINEAGE_SUFFIX.match(row["title"])
            if numbered and numbered.group(1) == title:
                return row["id"]
        exact = [row["id"] for row in rows if row["title"] == title]
        return exact[0] if exact else None

    def get_next_title_in_lineage(self, base_title: str) -> str:
        """The title for the next continuation: "X" → "X #2" → "X #3" (the bare title is #1)."""
        numbered = _LINEAGE_SUFFIX.match(base_title)
        base = numbered.group(1) if numbered else base_title
        numbers = []
        for row in self._lineage_titles(base):
            if row["title"] == base:
                numbers.append(1)
            elif (match := _LINEAGE_SUFFIX.match(row["title"])) and match.group(1) == base:
                numbers.append(int(match.group(2)))
        if not numbers:
            return base
        suffix = f" #{max(numbers) + 1}"
        return base[: MAX_TITLE_LENGTH - len(suffix)].rstrip() + suffix
