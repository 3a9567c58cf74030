"""SessionDB: the SQLite store in which every surface records its sessions and messages.

Web, terminal and chat-app sessions share one database (`$HERMES_HOME/state.db`), so a
conversation can be found, searched and continued from any surface. What keeps it sound when
several processes use it at once:

- WAL journal (DELETE where the filesystem cannot do WAL), foreign keys enforced, one connection
  per SessionDB guarded by one non-reentrant lock. A method never calls another while holding it.
- Every write is one function run in one `BEGIN IMMEDIATE` transaction by `_execute_write`, which
  rolls back on any error and retries only while another process holds the write lock.
- The schema is a list of numbered, append-only migrations recorded in `schema_migrations`;
  opening a database applies the missing ones in order, in one transaction.
- Structured message content (lists, dicts) is stored as `"\\x00json:" + JSON`. Two FTS5 indexes
  (words; trigrams for CJK and substrings) are kept in step with `messages` by triggers.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import random
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from hermes_agent.errors import BadRequest, Conflict, StoreError

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_TITLE_LENGTH = 100
JSON_PREFIX = "\x00json:"
ORPHAN_CONTINUATION_AGE_S = 7 * 86400
GHOST_SESSION_AGE_S = 86400
PREVIEW_CHARS = 60
CONTEXT_CHARS = 200
_LINEAGE_MAX_HOPS = 100
_RESUME_MAX_DEPTH = 32
_SQL_CHUNK = 500
_MAX_CHAR = "\U0010ffff"  # sorts after every character: `x <= s < x + _MAX_CHAR` is a prefix test


# -- paths ------------------------------------------------------------------------------------


def get_hermes_home() -> Path:
    """`$HERMES_HOME`, else `~/.hermes`; read on every call so tests and tools can redirect it."""
    return Path(os.environ.get("HERMES_HOME") or Path.home() / ".hermes").expanduser()


def default_db_path() -> Path:
    return get_hermes_home() / "state.db"


def __getattr__(name: str) -> Any:
    """`DEFAULT_DB_PATH` is computed on access, so it follows `HERMES_HOME` at call time."""
    if name == "DEFAULT_DB_PATH":
        return default_db_path()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


# -- errors -----------------------------------------------------------------------------------


class TitleTooLong(BadRequest, ValueError):
    """A title longer than MAX_TITLE_LENGTH; a ValueError for callers of the original API."""


class TitleInUse(Conflict, ValueError):
    """Another session already has the title; titles are unique across the whole store."""


# -- schema -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Migration:
    """One schema step. Released migrations are never edited: changes go in a new one."""

    version: int
    name: str
    statements: tuple[str, ...]


# JSON_PREFIX as bytes. SQLite's text functions stop at a NUL, so the triggers slice BLOBs.
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

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "core_tables", _CORE_TABLES),
    Migration(2, "word_search", _search_index("messages_fts", "content")),
    Migration(
        3, "substring_search", _search_index("messages_fts_trigram", "content, tokenize='trigram'")
    ),
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


# -- content encoding -------------------------------------------------------------------------

_MESSAGE_COLUMNS = (
    "session_id",
    "timestamp",
    "role",
    "content",
    "tool_call_id",
    "tool_calls",
    "tool_name",
    "token_count",
    "finish_reason",
    "reasoning",
    "reasoning_content",
    "reasoning_details",
    "codex_reasoning_items",
    "codex_message_items",
)
_JSON_COLUMNS = ("tool_calls", "reasoning_details", "codex_reasoning_items", "codex_message_items")
_ASSISTANT_EXTRAS = (
    "finish_reason",
    "reasoning",
    "reasoning_content",
    "reasoning_details",
    "codex_reasoning_items",
    "codex_message_items",
)
_INSERT_MESSAGE = (
    f"INSERT INTO messages ({', '.join(_MESSAGE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_MESSAGE_COLUMNS))})"
)


def encode_content(content: Any) -> Any:
    """Lists and dicts (and strings that look encoded) become the JSON sentinel form."""
    if isinstance(content, list | dict) or (
        isinstance(content, str) and content.startswith(JSON_PREFIX)
    ):
        return JSON_PREFIX + json.dumps(content, ensure_ascii=False)
    return content


def decode_content(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(JSON_PREFIX):
        try:
            return json.loads(value[len(JSON_PREFIX) :])
        except ValueError:
            log.warning("undecodable structured message content kept as text")
    return value


def content_text(content: Any) -> str:
    """The readable text of message content: structured parts contribute their text fields."""
    if content is None:
        return ""
    if isinstance(content, dict):
        return str(content.get("text") or "")
    if isinstance(content, list):
        texts = (
            part.get("text") if isinstance(part, dict) else part
            for part in content
            if isinstance(part, dict | str)
        )
        return " ".join(str(t) for t in texts if t)
    return str(content)


def _loads(value: str | None, default: Any = None) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return default


def _tool_call_total(tool_calls: Any) -> int:
    if tool_calls is None:
        return 0
    return len(tool_calls) if isinstance(tool_calls, list) else 1


def _message_values(session_id: str, message: dict[str, Any], timestamp: float) -> tuple:
    values: dict[str, Any] = {"session_id": session_id, "timestamp": timestamp}
    for column in _MESSAGE_COLUMNS[2:]:
        value = message.get(column)
        if column == "content":
            value = encode_content(value)
        elif column in _JSON_COLUMNS:
            value = json.dumps(value, ensure_ascii=False) if value else None
        values[column] = value
    return tuple(values[c] for c in _MESSAGE_COLUMNS)


def _decode_message(row: sqlite3.Row) -> dict[str, Any]:
    message = dict(row)
    message["content"] = decode_content(message["content"])
    message["tool_calls"] = _loads(message["tool_calls"], default=[])
    for column in _JSON_COLUMNS[1:]:
        message[column] = _loads(message[column])
    return message


def _conversation_entry(message: dict[str, Any]) -> dict[str, Any]:
    """One message in the OpenAI chat shape, carrying only the fields that are set."""
    role, content = message["role"], message["content"]
    if role in ("user", "assistant") and isinstance(content, str):
        content = content.strip()
    entry: dict[str, Any] = {"role": role, "content": content}
    for key in ("tool_call_id", "tool_name", "tool_calls"):
        if message[key]:
            entry[key] = message[key]
    if role == "assistant":
        for key in _ASSISTANT_EXTRAS:
            if message[key] is not None:
                entry[key] = message[key]
    return entry


def _drop_repeated_user_turns(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A continuation re-records the user turn that triggered compression; keep one copy."""
    kept: list[dict[str, Any]] = []
    last_user: Any = None
    for message in messages:
        if message["role"] == "user":
            if last_user is not None and message["content"] == last_user:
                continue
            last_user = message["content"]
        elif message["role"] == "assistant" and message["content"]:
            last_user = None
        kept.append(message)
    return kept


# -- search queries ---------------------------------------------------------------------------

_FTS_OPERATORS = frozenset({"AND", "OR", "NOT"})
_QUERY_PIECE = re.compile(r'"([^"]*)"|([^\s"]+)')
_WORD = re.compile(r"\w")
_CJK = re.compile(
    "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002ffff]"
)


@dataclass(frozen=True)
class _Piece:
    text: str
    operator: bool = False
    prefix: bool = False

    def fts(self) -> str:
        if self.operator:
            return self.text
        return '"' + self.text.replace('"', '""') + '"' + ("*" if self.prefix else "")


def _query_pieces(query: str) -> list[_Piece]:
    """Terms, quoted phrases and the operators that sit between two of them.

    Every term is later quoted, so no user text can reach the FTS5 grammar: unmatched quotes,
    parentheses, `*`, `NEAR(`, column filters and dangling operators all become plain words
    or are dropped. A trailing `*` on a word keeps its meaning (prefix search).
    """
    pieces: list[_Piece] = []
    for match in _QUERY_PIECE.finditer(query.replace("\x00", " ")):
        phrase, word = match.groups()
        if word in _FTS_OPERATORS:
            pieces.append(_Piece(word, operator=True))
            continue
        text = (phrase if phrase is not None else word.rstrip("*")).strip()
        if _WORD.search(text):
            pieces.append(_Piece(text, prefix=phrase is None and word.endswith("*")))
    kept: list[_Piece] = []
    for i, piece in enumerate(pieces):
        if piece.operator:
            after_term = bool(kept) and not kept[-1].operator
            before_term = i + 1 < len(pieces) and not pieces[i + 1].operator
            if not (after_term and before_term):
                continue
        kept.append(piece)
    return kept


def sanitize_fts_query(query: str) -> str:
    """Any user text as a valid FTS5 query ("" when it holds no searchable term)."""
    return _fts_query(_query_pieces(query))


def _escape_like(text: str) -> str:
    """`text` as a literal inside a LIKE pattern written with ESCAPE '\\'."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _marked_snippet(text: str, terms: Sequence[str], width: int = 60) -> str:
    """`>>>term<<<` with some text around it, for matches found without FTS5."""
    lower = text.lower()
    for term in terms:
        start = lower.find(term.lower())
        if start >= 0:
            end = start + len(term)
            head = max(0, start - width // 2)
            tail = min(len(text), end + width // 2)
            return (
                ("..." if head else "")
                + f"{text[head:start]}>>>{text[start:end]}<<<{text[end:tail]}"
                + ("..." if tail < len(text) else "")
            )
    return text[:width]


# bm25 costs about 1.4 µs per matching row. Ranking only the newest matches keeps a query for
# a word found in half of 100,000 messages near 10 ms; fewer matches are all ranked.
_RANK_WINDOW = 5000


@dataclass(frozen=True)
class _SearchPlan:
    """Which index answers a query and how.

    Words go to the word index. CJK runs are not split into words, so queries with CJK go to
    the trigram index: terms of three or more characters through MATCH, shorter ones as LIKE
    substrings (the trigram index cannot look those up, so they are scanned newest first).
    """

    table: str
    match: str | None
    likes: tuple[str, ...]
    terms: tuple[str, ...]

    @property
    def snippet_tokens(self) -> int:
        return 64 if self.table == "messages_fts_trigram" else 24


def _search_plan(pieces: list[_Piece]) -> _SearchPlan | None:
    terms = tuple(p.text for p in pieces if not p.operator)
    if not terms:
        return None
    if not any(_CJK.search(t) for t in terms):
        return _SearchPlan("messages_fts", _fts_query(pieces), (), terms)
    short = tuple(t for t in terms if len(t) < 3)
    if not short:
        return _SearchPlan("messages_fts_trigram", _fts_query(pieces), (), terms)
    long = [p for p in pieces if not p.operator and len(p.text) >= 3]
    return _SearchPlan("messages_fts_trigram", _fts_query(long) or None, short, terms)


def _fts_query(pieces: Iterable[_Piece]) -> str:
    return " ".join(piece.fts() for piece in pieces)


def _search_sql(plan: _SearchPlan, filters: str, *, floor: bool) -> str:
    table = plan.table
    where = [f"{table} MATCH :match"] if plan.match else []
    where += [f"{table}.content LIKE :like{i} ESCAPE '\\'" for i in range(len(plan.likes))]
    if floor:
        where.append(f"{table}.rowid >= :floor")
    snippet = (
        f"snippet({table}, 0, '>>>', '<<<', '...', {plan.snippet_tokens})"
        if plan.match
        else f"{table}.content"
    )
    return (
        f"SELECT m.id, m.session_id, m.role, {snippet} AS snippet, m.timestamp, m.tool_name, "
        "s.source, s.model, s.started_at AS session_started "
        f"FROM {table} JOIN messages AS m ON m.id = {table}.rowid "
        f"JOIN sessions AS s ON s.id = m.session_id WHERE {' AND '.join(where)}{filters} "
        f"ORDER BY {'rank' if plan.match else f'{table}.rowid DESC'} LIMIT :limit OFFSET :offset"
    )


def _search_filters(
    source_filter: str | Iterable[str] | None,
    exclude_sources: Iterable[str] | None,
    role_filter: str | Iterable[str] | None,
) -> tuple[str, dict[str, Any]]:
    sql, params = "", {}
    for name, column, values, negate in (
        ("src", "s.source", _as_list(source_filter), False),
        ("xsrc", "s.source", _as_list(exclude_sources), True),
        ("role", "m.role", _as_list(role_filter), False),
    ):
        if values:
            keys = [f"{name}{i}" for i in range(len(values))]
            marks = ", ".join(f":{k}" for k in keys)
            sql += f" AND {column} {'NOT IN' if negate else 'IN'} ({marks})"
            params.update(zip(keys, values, strict=True))
    return sql, params


def _as_list(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _in_clause(column: str, values: list[str], *, negate: bool = False) -> str:
    marks = ", ".join("?" * len(values))
    return f" AND {column} {'NOT IN' if negate else 'IN'} ({marks})"


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), _SQL_CHUNK):
        yield items[start : start + _SQL_CHUNK]


# -- listing ----------------------------------------------------------------------------------

# The preview reads the first user message's text from the word index, which holds every
# message as plain text (structured parts flattened), so a huge multimodal message is never
# loaded just to show 60 characters of it.
_RICH_COLUMNS = """s.*,
    COALESCE((SELECT MAX(m.timestamp) FROM messages AS m WHERE m.session_id = s.id),
             s.started_at) AS last_active,
    (SELECT substr(f.content, 1, 200) FROM messages_fts AS f WHERE f.rowid = (
        SELECT m.id FROM messages AS m WHERE m.session_id = s.id AND m.role = 'user'
        ORDER BY m.timestamp, m.id LIMIT 1)) AS preview"""

# Roots and branches are listed; compression continuations are reached through their root.
_LISTED = """(s.parent_session_id IS NULL OR EXISTS (
    SELECT 1 FROM sessions AS p WHERE p.id = s.parent_session_id AND p.end_reason = 'branched'
    AND p.ended_at IS NOT NULL AND s.started_at >= p.ended_at))"""

_PROJECTED_FROM_TIP = (
    "id",
    "ended_at",
    "end_reason",
    "message_count",
    "tool_call_count",
    "last_active",
    "model",
    "system_prompt",
)


def _by_lineage_activity(where: str) -> str:
    """Rows ordered by the latest activity anywhere in their compression lineage.

    The page is cut before the preview and last-activity columns are computed, so they are
    computed for the rows shown rather than for every session.
    """
    return f"""
    WITH RECURSIVE lineage(root_id, node_id, depth) AS (
        SELECT s.id, s.id, 0 FROM sessions AS s WHERE {where}
        UNION ALL
        SELECT l.root_id, c.id, l.depth + 1
        FROM lineage AS l
        JOIN sessions AS p ON p.id = l.node_id
        JOIN sessions AS c ON c.parent_session_id = p.id
        WHERE p.end_reason = 'compression' AND c.started_at >= p.ended_at
          AND l.depth < {_LINEAGE_MAX_HOPS}
    ),
    page(root_id, active, started_at) AS (
        SELECT l.root_id, MAX(COALESCE(
            (SELECT MAX(m.timestamp) FROM messages AS m WHERE m.session_id = l.node_id),
            n.started_at)), r.started_at
        FROM lineage AS l
        JOIN sessions AS n ON n.id = l.node_id
        JOIN sessions AS r ON r.id = l.root_id
        GROUP BY l.root_id
        ORDER BY 2 DESC, 3 DESC LIMIT ? OFFSET ?
    )
    SELECT {_RICH_COLUMNS} FROM page JOIN sessions AS s ON s.id = page.root_id
    ORDER BY page.active DESC, page.started_at DESC"""


def _preview(text: str | None) -> str:
    flat = " ".join((text or "").split())
    return flat[:PREVIEW_CHARS] + "..." if len(flat) > PREVIEW_CHARS else flat


def _rich_row(row: sqlite3.Row) -> dict[str, Any]:
    result = dict(row)
    result["preview"] = _preview(result["preview"])
    return result


def _compression_tip(conn: sqlite3.Connection, session_id: str) -> str | None:
    row = conn.execute(
        "SELECT id, end_reason, ended_at FROM sessions WHERE id = ?", (session_id,)
    ).fetchone()
    if row is None:
        return None
    seen = {row["id"]}
    for _ in range(_LINEAGE_MAX_HOPS):
        if row["end_reason"] != "compression" or row["ended_at"] is None:
            break
        child = conn.execute(
            "SELECT id, end_reason, ended_at FROM sessions WHERE parent_session_id = ? "
            "AND started_at >= ? ORDER BY started_at DESC, rowid DESC LIMIT 1",
            (row["id"], row["ended_at"]),
        ).fetchone()
        if child is None or child["id"] in seen:
            break
        seen.add(child["id"])
        row = child
    return row["id"]


def _project_tip(conn: sqlite3.Connection, root: dict[str, Any]) -> dict[str, Any]:
    """Show a compressed conversation as its live tip, under the root's start time."""
    tip_id = _compression_tip(conn, root["id"])
    if tip_id is None or tip_id == root["id"]:
        return root
    tip = _rich_row(
        conn.execute(
            f"SELECT {_RICH_COLUMNS} FROM sessions AS s WHERE s.id = ?", (tip_id,)
        ).fetchone()
    )
    projected = dict(root)
    projected.update({key: tip[key] for key in _PROJECTED_FROM_TIP})
    projected["title"] = tip["title"] or root["title"]
    projected["preview"] = tip["preview"] or root["preview"]
    projected["_lineage_root_id"] = root["id"]
    return projected


def _delete_rows(conn: sqlite3.Connection, ids: list[str]) -> int:
    """Delete sessions and their messages; their children stay, detached (the FK needs it)."""
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


# -- the store --------------------------------------------------------------------------------

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


class SessionDB:
    """Sessions, messages and search for every surface, in one SQLite file.

    Thread-safe within a process (one lock around the one connection) and safe across processes
    (WAL, `BEGIN IMMEDIATE`, retry while another process holds the write lock).
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
        while another process holds the database."""
        attempt = 0
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
        with self._lock:
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
    ) -> str:
        """Record a session (an existing id is left unchanged). A missing parent raises
        `sqlite3.IntegrityError`: the foreign key is enforced even by INSERT OR IGNORE."""
        if isinstance(model_config, dict):
            model_config = json.dumps(model_config, ensure_ascii=False) if model_config else None
        self._write_one(
            "INSERT OR IGNORE INTO sessions (id, source, user_id, model, model_config, "
            "system_prompt, parent_session_id, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session_id,
                source,
                user_id,
                model,
                model_config,
                system_prompt,
                parent_session_id,
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

    # -- messages ----------------------------------------------------------------------------

    def append_message(
        self,
        session_id: str,
        role: str,
        content: Any = None,
        *,
        tool_name: str | None = None,
        tool_calls: Any = None,
        tool_call_id: str | None = None,
        token_count: int | None = None,
        finish_reason: str | None = None,
        reasoning: str | None = None,
        reasoning_content: str | None = None,
        reasoning_details: Any = None,
        codex_reasoning_items: Any = None,
        codex_message_items: Any = None,
    ) -> int:
        """Append one message and bump the session's counters; returns the message id.
        A session that does not exist raises `sqlite3.IntegrityError`."""
        message = {
            "role": role,
            "content": content,
            "tool_name": tool_name,
            "tool_calls": tool_calls,
            "tool_call_id": tool_call_id,
            "token_count": token_count,
            "finish_reason": finish_reason,
            "reasoning": reasoning,
            "reasoning_content": reasoning_content,
            "reasoning_details": reasoning_details,
            "codex_reasoning_items": codex_reasoning_items,
            "codex_message_items": codex_message_items,
        }
        values = _message_values(session_id, message, time.time())
        calls = _tool_call_total(tool_calls)

        def write(conn: sqlite3.Connection) -> int:
            message_id = conn.execute(_INSERT_MESSAGE, values).lastrowid
            conn.execute(
                "UPDATE sessions SET message_count = COALESCE(message_count, 0) + 1, "
                "tool_call_count = COALESCE(tool_call_count, 0) + ? WHERE id = ?",
                (calls, session_id),
            )
            return message_id

        return self._execute_write(write)

    def replace_messages(self, session_id: str, messages: Iterable[dict[str, Any]]) -> None:
        """Swap the whole transcript in one transaction and recount; timestamps step by 1 µs."""
        messages = list(messages)
        start = time.time()
        rows = [_message_values(session_id, m, start + i * 1e-6) for i, m in enumerate(messages)]
        calls = sum(_tool_call_total(m.get("tool_calls")) for m in messages)

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM messages WHERE session_id = ?", (session_id,))
            conn.executemany(_INSERT_MESSAGE, rows)
            conn.execute(
                "UPDATE sessions SET message_count = ?, tool_call_count = ? WHERE id = ?",
                (len(rows), calls, session_id),
            )

        self._execute_write(write)

    def clear_messages(self, session_id: str) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM messages WHERE session_id = ?", (session_id,))
            conn.execute(
                "UPDATE sessions SET message_count = 0, tool_call_count = 0 WHERE id = ?",
                (session_id,),
            )

        self._execute_write(write)

    def get_messages(self, session_id: str) -> list[dict[str, Any]]:
        rows = self._read(
            lambda conn: conn.execute(
                "SELECT * FROM messages WHERE session_id = ? ORDER BY id", (session_id,)
            ).fetchall()
        )
        return [_decode_message(row) for row in rows]

    def _ancestry(self, session_id: str) -> list[str]:
        """The parent chain, root first, ending with `session_id` (loop-safe, bounded)."""

        def walk(conn: sqlite3.Connection) -> list[str]:
            chain = [session_id]
            for _ in range(_LINEAGE_MAX_HOPS):
                row = conn.execute(
                    "SELECT parent_session_id FROM sessions WHERE id = ?", (chain[-1],)
                ).fetchone()
                parent = row["parent_session_id"] if row else None
                if parent is None or parent in chain:
                    break
                chain.append(parent)
            return chain[::-1]

        return self._read(walk)

    def get_messages_as_conversation(
        self, session_id: str, include_ancestors: bool = False
    ) -> list[dict[str, Any]]:
        """The transcript as OpenAI-style chat messages; with `include_ancestors`, the whole
        lineage from the root, without the user turn a continuation repeats."""
        ids = self._ancestry(session_id) if include_ancestors else [session_id]
        messages = [_conversation_entry(m) for sid in ids for m in self.get_messages(sid)]
        return _drop_repeated_user_turns(messages) if include_ancestors else messages

    def get_compression_tip(self, session_id: str) -> str | None:
        """The newest continuation reached through compression ends (the id itself when there
        is none; None for an unknown id)."""
        return self._read(lambda conn: _compression_tip(conn, session_id))

    def resolve_resume_session_id(self, session_id: str) -> str:
        """For an empty session, the first descendant (newest child at each step) that has
        messages; otherwise the id itself."""

        def resolve(conn: sqlite3.Connection) -> str:
            current, seen = session_id, {session_id}
            for _ in range(_RESUME_MAX_DEPTH):
                if conn.execute(
                    "SELECT 1 FROM messages WHERE session_id = ? LIMIT 1", (current,)
                ).fetchone():
                    return current
                child = conn.execute(
                    "SELECT id FROM sessions WHERE parent_session_id = ? "
                    "ORDER BY started_at DESC, rowid DESC LIMIT 1",
                    (current,),
                ).fetchone()
                if child is None or child["id"] in seen:
                    break
                current = child["id"]
                seen.add(current)
            return session_id

        return self._read(resolve)

    # -- listing and search ------------------------------------------------------------------

    def list_sessions_rich(
        self,
        source: str | None = None,
        *,
        exclude_sources: Iterable[str] | None = None,
        limit: int = 20,
        offset: int = 0,
        include_children: bool = False,
        project_compression_tips: bool = True,
        order_by_last_active: bool = False,
    ) -> list[dict[str, Any]]:
        """Sessions for a sidebar, newest first, each with `preview` and `last_active`.

        Without `include_children`, only roots and branches are listed, and a compressed
        conversation appears as its newest continuation (`_lineage_root_id` names the root).
        """
        where, params = "1", []
        if source is not None:
            where += " AND s.source = ?"
            params.append(source)
        excluded = _as_list(exclude_sources)
        if excluded:
            where += _in_clause("s.source", excluded, negate=True)
            params.extend(excluded)
        if not include_children:
            where += f" AND {_LISTED}"
        if order_by_last_active:
            sql = _by_lineage_activity(where)
        else:
            sql = (
                f"SELECT {_RICH_COLUMNS} FROM sessions AS s WHERE {where} "
                "ORDER BY s.started_at DESC LIMIT ? OFFSET ?"
            )
        project = project_compression_tips and not include_children

        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = [_rich_row(r) for r in conn.execute(sql, (*params, limit, offset))]
            if not project:
                return rows
            return [_project_tip(conn, r) if r["end_reason"] == "compression" else r for r in rows]

        return self._read(read)

    def search_sessions(
        self, source: str | None = None, limit: int = 20, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Session rows with `last_active`, most recent activity first."""
        where = "WHERE s.source = ?" if source is not None else ""
        params = (source,) if source is not None else ()
        rows = self._read(
            lambda conn: conn.execute(
                "SELECT s.*, COALESCE((SELECT MAX(m.timestamp) FROM messages AS m "
                "WHERE m.session_id = s.id), s.started_at) AS last_active "
                f"FROM sessions AS s {where} ORDER BY last_active DESC LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        )
        return [dict(row) for row in rows]

    def search_messages(
        self,
        query: str,
        *,
        source_filter: str | Iterable[str] | None = None,
        exclude_sources: Iterable[str] | None = None,
        role_filter: str | Iterable[str] | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Full-text search over every message; any user text is a safe query.

        Results are best first, with a `>>>match<<<` snippet and the neighbouring messages as
        `context`. CJK text (which the word index cannot split) is matched as substrings.
        """
        plan = _search_plan(_query_pieces(query or ""))
        if plan is None:
            return []
        filters, params = _search_filters(source_filter, exclude_sources, role_filter)
        params.update({"match": plan.match, "limit": limit, "offset": offset})
        params.update({f"like{i}": f"%{_escape_like(t)}%" for i, t in enumerate(plan.likes)})

        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            results = [dict(row) for row in self._ranked_rows(conn, plan, filters, params)]
            for result in results:
                snippet = result["snippet"] or ""
                result["snippet"] = (
                    snippet.strip() if plan.match else _marked_snippet(snippet, plan.terms)
                )
                result["context"] = self._context(conn, result["session_id"], result["id"])
            return results

        try:
            return self._read(read)
        except sqlite3.OperationalError as exc:
            message = str(exc).lower()
            if "fts5" not in message and "syntax" not in message:
                raise
            log.warning("search query %r rejected by FTS5: %s", query, exc)
            return []

    @staticmethod
    def _ranked_rows(
        conn: sqlite3.Connection, plan: _SearchPlan, filters: str, params: dict[str, Any]
    ) -> list[sqlite3.Row]:
        """Rank within the newest matches when there are many; rank them all when the filters
        leave that window short of a full page."""
        if plan.match:
            window = max(_RANK_WINDOW, 10 * (params["limit"] + params["offset"]))
            edge = conn.execute(
                f"SELECT rowid FROM {plan.table} WHERE {plan.table} MATCH ? "
                "ORDER BY rowid DESC LIMIT 1 OFFSET ?",
                (plan.match, window - 1),
            ).fetchone()
            if edge is not None:
                sql = _search_sql(plan, filters, floor=True)
                rows = conn.execute(sql, {**params, "floor": edge[0]}).fetchall()
                if len(rows) >= params["limit"]:
                    return rows
        return conn.execute(_search_sql(plan, filters, floor=False), params).fetchall()

    @staticmethod
    def _context(conn: sqlite3.Connection, session_id: str, message_id: int) -> list[dict]:
        """The message before, the message, and the one after (text only, 200 chars each)."""
        rows = conn.execute(
            "SELECT id, role, content FROM messages WHERE id IN ("
            "(SELECT MAX(id) FROM messages WHERE session_id = :s AND id < :id), :id, "
            "(SELECT MIN(id) FROM messages WHERE session_id = :s AND id > :id)) ORDER BY id",
            {"s": session_id, "id": message_id},
        ).fetchall()
        return [
            {
                "role": row["role"],
                "content": content_text(decode_content(row["content"]))[:CONTEXT_CHARS],
            }
            for row in rows
        ]

    def _count(self, table: str, column: str, value: str | None) -> int:
        where, params = (f"WHERE {column} = ?", (value,)) if value is not None else ("", ())
        row = self._read(
            lambda conn: conn.execute(f"SELECT COUNT(*) FROM {table} {where}", params).fetchone()
        )
        return row[0]

    def session_count(self, source: str | None = None) -> int:
        return self._count("sessions", "source", source)

    def message_count(self, session_id: str | None = None) -> int:
        return self._count("messages", "session_id", session_id)

    def export_session(self, session_id: str) -> dict[str, Any] | None:
        """The session row with its decoded `messages`, or None."""
        session = self.get_session(session_id)
        if session is None:
            return None
        return {**session, "messages": self.get_messages(session_id)}

    def export_all(self, source: str | None = None) -> list[dict[str, Any]]:
        where, params = ("WHERE source = ?", (source,)) if source is not None else ("", ())
        ids = self._read(
            lambda conn: [
                row["id"]
                for row in conn.execute(
                    f"SELECT id FROM sessions {where} ORDER BY started_at", params
                )
            ]
        )
        exports = (self.export_session(sid) for sid in ids)
        return [e for e in exports if e is not None]

    # -- deletion and maintenance ------------------------------------------------------------

    def delete_session(
        self, session_id: str, sessions_dir: str | os.PathLike[str] | None = None
    ) -> bool:
        """Delete a session and its messages (children are kept, detached) and, given
        `sessions_dir`, its transcript and request-dump files. False when it did not exist."""
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
