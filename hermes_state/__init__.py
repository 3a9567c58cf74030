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

Surfaces and the agent hold a `ConversationStore`, the protocol listing what they call, of
which `SessionDB` is the SQLite implementation. No `sqlite3` error leaves the package: every
public method raises `StoreError` (`hermes_agent.errors`), saying what happened to the file.

This module is the package's public surface. The work is split by job: `connection` (opening
the file, WAL fallback, why the store is unavailable), `failures` (sqlite3 errors into
`StoreError`), `conversation_store` (the protocol), `schema` (migrations and search-index DDL),
`messages` (content encoding and conversation shape), `search` (FTS query planning), `listing`
(sidebar rows and compression tips), and SessionDB itself in `store` with its
`transcripts`, `queries` and `maintenance` mixins.
"""

from __future__ import annotations

from typing import Any

from hermes_state.connection import (
    apply_wal_with_fallback,
    default_db_path,
    format_session_db_unavailable,
    get_hermes_home,
    get_last_init_error,
)
from hermes_state.conversation_store import ConversationStore
from hermes_state.listing import PREVIEW_CHARS
from hermes_state.maintenance import GHOST_SESSION_AGE_S, ORPHAN_CONTINUATION_AGE_S
from hermes_state.messages import JSON_PREFIX, content_text, decode_content, encode_content
from hermes_state.schema import MIGRATIONS, SCHEMA_VERSION, Migration
from hermes_state.search import CONTEXT_CHARS, sanitize_fts_query
from hermes_state.store import MAX_TITLE_LENGTH, SessionDB, TitleInUse, TitleTooLong

__all__ = [
    "CONTEXT_CHARS",
    "DEFAULT_DB_PATH",
    "GHOST_SESSION_AGE_S",
    "JSON_PREFIX",
    "MAX_TITLE_LENGTH",
    "MIGRATIONS",
    "ORPHAN_CONTINUATION_AGE_S",
    "PREVIEW_CHARS",
    "SCHEMA_VERSION",
    "ConversationStore",
    "Migration",
    "SessionDB",
    "TitleInUse",
    "TitleTooLong",
    "apply_wal_with_fallback",
    "content_text",
    "decode_content",
    "default_db_path",
    "encode_content",
    "format_session_db_unavailable",
    "get_hermes_home",
    "get_last_init_error",
    "sanitize_fts_query",
]


def __getattr__(name: str) -> Any:
    """`DEFAULT_DB_PATH` is computed on access, so it follows `HERMES_HOME` at call time."""
    if name == "DEFAULT_DB_PATH":
        return default_db_path()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
