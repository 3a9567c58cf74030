"""The schema of state.db: numbered, append-only migrations and the search-index DDL.

Kept apart from the store so the whole shape of the database (tables, indexes, the FTS5 indexes
and the triggers that keep them in step with `messages`) reads in one place, and so opening a
database only has to ask for the migrations it is missing.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

# -- schema -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Migration:
    """One schema step. Released migrations are never edited: changes go in a new one."""

    version: int
    name: str
    statements: tuple[str, ...]


# `hermes_state.messages.JSON_PREFIX` as bytes. SQLite's text functions stop at a NUL, so the
# triggers slice BLOBs.
_JSON_PREFIX_BLOB = "x'006a736f6e3a'"


def _indexed_text(row: str) -> str:
    """SQL for the text one message contributes to the search indexes.

    Structured content contributes only its text parts, so base64 images and JSON keys stay
    out of the index and snippets read as prose. Tool names and call arguments are searchable.
    """
    body = f"CAST(substr(CAST({row}.content AS BLOB), 7) AS TEXT)"
    parts = (
        "(SELECT group_concat(CASE j.type WHEN 'object' THEN json_extract(j.value, '$.text') "
        f"WHEN 'text' THEN j.value END, ' ') FROM json_each({body}) AS j)"
    )
    content = (
        f"CASE WHEN {row}.content IS NULL THEN '' "
        f"WHEN substr(CAST({row}.content AS BLOB), 1, 6) IS NOT {_JSON_PREFIX_BLOB} "
        f"THEN {row}.content "
        f"WHEN NOT json_valid({body}) THEN {body} "
        f"WHEN json_type({body}) = 'array' THEN {parts} "
        f"WHEN json_type({body}) = 'object' THEN json_extract({body}, '$.text') "
        f"ELSE json_extract({body}, '$') END"
    )
    return (
        f"COALESCE({content}, '') || ' ' || COALESCE({row}.tool_name, '') "
        f"|| ' ' || COALESCE({row}.tool_calls, '')"
    )


def _search_index(table: str, options: str) -> tuple[str, ...]:
    """An inline FTS5 table over messages, its three triggers and the backfill of old rows."""
    return (
        f"CREATE VIRTUAL TABLE {table} USING fts5({options})",
        f"CREATE TRIGGER {table}_insert AFTER INSERT ON messages BEGIN "
        f"INSERT INTO {table}(rowid, content) VALUES (new.id, {_indexed_text('new')}); END",
        f"CREATE TRIGGER {table}_delete AFTER DELETE ON messages BEGIN "
        f"DELETE FROM {table} WHERE rowid = old.id; END",
        f"CREATE TRIGGER {table}_update AFTER UPDATE OF content, tool_name, tool_calls "
        f"ON messages BEGIN DELETE FROM {table} WHERE rowid = old.id; "
        f"INSERT INTO {table}(rowid, content) VALUES (new.id, {_indexed_text('new')}); END",
        f"INSERT INTO {table}(rowid, content) SELECT m.id, {_indexed_text('m')} FROM messages AS m",
    )


_CORE_TABLES = (
    """CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        user_id TEXT,
        model TEXT,
        model_config TEXT,
        system_prompt TEXT,
        parent_session_id TEXT REFERENCES sessions(id),
        started_at REAL NOT NULL,
        ended_at REAL,
        end_reason TEXT,
        message_count INTEGER DEFAULT 0,
        tool_call_count INTEGER DEFAULT 0,
        input_tokens INTEGER DEFAULT 0,
        output_tokens INTEGER DEFAULT 0,
        cache_read_tokens INTEGER DEFAULT 0,
        cache_write_tokens INTEGER DEFAULT 0,
        reasoning_tokens INTEGER DEFAULT 0,
        billing_provider TEXT,
        billing_base_url TEXT,
        billing_mode TEXT,
        estimated_cost_usd REAL,
        actual_cost_usd REAL,
        cost_status TEXT,
        cost_source TEXT,
        pricing_version TEXT,
        title TEXT,
        api_call_count INTEGER DEFAULT 0,
        handoff_state TEXT,
        handoff_platform TEXT,
        handoff_error TEXT
    )""",
    """CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL REFERENCES sessions(id),
        role TEXT NOT NULL,
        content TEXT,
        tool_call_id TEXT,
        tool_calls TEXT,
        tool_name TEXT,
        timestamp REAL NOT NULL,
        token_count INTEGER,
        finish_reason TEXT,
        reasoning TEXT,
        reasoning_content TEXT,
        reasoning_details TEXT,
        codex_reasoning_items TEXT,
        codex_message_items TEXT
    )""",
    "CREATE TABLE state_meta (key TEXT PRIMARY KEY, value TEXT)",
    "CREATE INDEX idx_sessions_source ON sessions(source)",
    "CREATE INDEX idx_sessions_parent ON sessions(parent_session_id)",
    "CREATE INDEX idx_sessions_started ON sessions(started_at DESC)",
    "CREATE INDEX idx_messages_session ON messages(session_id, timestamp)",
    "CREATE UNIQUE INDEX idx_sessions_title_unique ON sessions(title) WHERE title IS NOT NULL",
)

# Scheduled jobs (hermes_cron): the jobs, one row per slot run (unique, so a slot is claimed
# once across processes and restarts), and who runs them.
_CRON_TABLES = (
    """CREATE TABLE cron_jobs (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        prompt TEXT NOT NULL,
        schedule TEXT NOT NULL,
        schedule_kind TEXT NOT NULL,
        run_at REAL,
        timezone TEXT NOT NULL,
        deliver TEXT NOT NULL,
        skills TEXT NOT NULL DEFAULT '[]',
        model TEXT,
        workspace TEXT,
        paused INTEGER NOT NULL DEFAULT 0,
        may_schedule INTEGER NOT NULL DEFAULT 0,
        origin TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        next_run_at REAL,
        last_run_at REAL,
        last_status TEXT
    )""",
    "CREATE INDEX idx_cron_jobs_next ON cron_jobs(next_run_at)",
    """CREATE TABLE cron_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id TEXT NOT NULL,
        slot REAL NOT NULL,
        status TEXT NOT NULL,
        trigger TEXT NOT NULL DEFAULT 'schedule',
        runner TEXT,
        started_at REAL,
        finished_at REAL,
        session_id TEXT,
        result TEXT,
        error TEXT,
        delivered TEXT,
        UNIQUE (job_id, slot)
    )""",
    "CREATE INDEX idx_cron_runs_job ON cron_runs(job_id, slot DESC)",
    "CREATE INDEX idx_cron_runs_status ON cron_runs(status)",
    """CREATE TABLE cron_lease (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        pid INTEGER,
        host TEXT,
        acquired_at REAL NOT NULL,
        heartbeat_at REAL NOT NULL
    )""",
)
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "core_tables", _CORE_TABLES),
    Migration(2, "word_search", _search_index("messages_fts", "content")),
    Migration(
        3, "substring_search", _search_index("messages_fts_trigram", "content, tokenize='trigram'")
    ),
    # The session whose delegate_task call ran this one (a sub-agent's own conversation).
    # Not `parent_session_id`, which is compression and branching lineage.
    Migration(
        4,
        "delegated_sessions",
        (
            "ALTER TABLE sessions ADD COLUMN delegated_from TEXT",
            "CREATE INDEX idx_sessions_delegated_from ON sessions(delegated_from)",
        ),
    ),
    Migration(5, "scheduled_jobs", _CRON_TABLES),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def _schema_version(conn: sqlite3.Connection) -> int:
    known = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if known is None:
        return 0
    return conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]


def _apply_migrations(conn: sqlite3.Connection) -> list[str]:
    """Apply every migration newer than the database; re-read inside the write transaction so
    two processes opening a fresh database at once cannot both apply the same step."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
    )
    current = _schema_version(conn)
    applied = []
    for migration in MIGRATIONS:
        if migration.version <= current:
            continue
        for statement in migration.statements:
            conn.execute(statement)
        conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            (migration.version, migration.name, time.time()),
        )
        applied.append(f"{migration.version:03d}_{migration.name}")
    return applied
