"""SessionDB against real SQLite files: lifecycle, titles, messages, search, maintenance,
migrations, file safety, and several writer processes at once.

Every test opens its own database under `tmp_path`; rows are asserted through the public API
or read back with a separate plain sqlite3 connection.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import hermes_state
from hermes_agent.errors import StoreError
from hermes_state import (
    MIGRATIONS,
    SCHEMA_VERSION,
    SessionDB,
    TitleInUse,
    TitleTooLong,
    sanitize_fts_query,
)
from tests.support import REPO_ROOT

DAY = 86400


@pytest.fixture
def db(tmp_path) -> Iterator[SessionDB]:
    store = SessionDB(db_path=tmp_path / "state.db")
    yield store
    store.close()


def _raw(db: SessionDB) -> sqlite3.Connection:
    """A second, independent connection for reading what SessionDB wrote."""
    conn = sqlite3.connect(db.db_path)
    conn.row_factory = sqlite3.Row
    return conn


def _backdate(db: SessionDB, session_id: str, seconds: float) -> None:
    db._execute_write(
        lambda conn: conn.execute(
            "UPDATE sessions SET started_at = started_at - ? WHERE id = ?", (seconds, session_id)
        )
    )


def _ids(rows: list[dict]) -> list[str]:
    return [row["id"] for row in rows]


# -- module and file ----------------------------------------------------------------------------


def test_default_db_path_follows_hermes_home_at_call_time(tmp_path, monkeypatch):
    monkeypatch.setenv("HERMES_HOME", str(tmp_path / "first"))
    assert tmp_path / "first" / "state.db" == hermes_state.DEFAULT_DB_PATH
    monkeypatch.setenv("HERMES_HOME", str(tmp_path / "second"))
    assert tmp_path / "second" / "state.db" == hermes_state.DEFAULT_DB_PATH

    store = SessionDB()
    store.create_session("s1", source="cli")
    store.close()
    assert (tmp_path / "second" / "state.db").is_file()
    assert not (tmp_path / "first").exists()


def test_importing_the_module_touches_no_file(tmp_path):
    home = tmp_path / "untouched-home"
    result = subprocess.run(
        [sys.executable, "-c", "import hermes_state; print(hermes_state.DEFAULT_DB_PATH)"],
        cwd=REPO_ROOT,
        env={**os.environ, "HERMES_HOME": str(home), "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert result.stdout.strip() == str(home / "state.db")
    assert not home.exists()


def test_new_database_and_its_wal_are_private_to_the_owner(tmp_path):
    store = SessionDB(db_path=tmp_path / "nested" / "state.db")
    store.create_session("s1", source="cli")
    assert stat.S_IMODE((tmp_path / "nested" / "state.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "nested" / "state.db-wal").stat().st_mode) == 0o600
    store.close()


def test_a_symlink_planted_at_the_database_path_is_refused(tmp_path):
    target = tmp_path / "elsewhere.db"
    target.write_bytes(b"")
    link = tmp_path / "state.db"
    link.symlink_to(target)

    with pytest.raises(StoreError, match="symbolic link"):
        SessionDB(db_path=link)

    assert target.read_bytes() == b""
    assert "symbolic link" in hermes_state.get_last_init_error()
    assert hermes_state.format_session_db_unavailable().startswith(
        "Session database not available: StoreError: Refusing to open"
    )


def test_a_symlinked_wal_file_is_refused_too(tmp_path):
    (tmp_path / "state.db-wal").symlink_to(tmp_path / "attacker-wal")
    with pytest.raises(StoreError, match=r"state\.db-wal is a symbolic link"):
        SessionDB(db_path=tmp_path / "state.db")


def test_database_runs_in_wal_mode_with_foreign_keys_enforced(db):
    assert db.journal_mode == "wal"
    with _raw(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(StoreError):
        db.create_session("child", source="tui", parent_session_id="missing-parent")
    assert db.get_session("child") is None


def test_a_closed_store_fails_clearly_and_closing_twice_is_harmless(tmp_path):
    with SessionDB(db_path=tmp_path / "state.db") as store:
        store.create_session("s1", source="cli")
    with pytest.raises(StoreError, match="closed"):
        store.get_session("s1")
    store.close()
    with SessionDB(db_path=tmp_path / "state.db") as reopened:
        assert reopened.get_session("s1")["source"] == "cli"


# -- migrations ---------------------------------------------------------------------------------

V1_DDL = """
CREATE TABLE schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL);
CREATE TABLE sessions (
    id TEXT PRIMARY KEY, source TEXT NOT NULL, user_id TEXT, model TEXT, model_config TEXT,
    system_prompt TEXT, parent_session_id TEXT REFERENCES sessions(id),
    started_at REAL NOT NULL, ended_at REAL, end_reason TEXT,
    message_count INTEGER DEFAULT 0, tool_call_count INTEGER DEFAULT 0,
    input_tokens INTEGER DEFAULT 0, output_tokens INTEGER DEFAULT 0,
    cache_read_tokens INTEGER DEFAULT 0, cache_write_tokens INTEGER DEFAULT 0,
    reasoning_tokens INTEGER DEFAULT 0, billing_provider TEXT, billing_base_url TEXT,
    billing_mode TEXT, estimated_cost_usd REAL, actual_cost_usd REAL, cost_status TEXT,
    cost_source TEXT, pricing_version TEXT, title TEXT, api_call_count INTEGER DEFAULT 0,
    handoff_state TEXT, handoff_platform TEXT, handoff_error TEXT);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL REFERENCES sessions(id), role TEXT NOT NULL, content TEXT,
    tool_call_id TEXT, tool_calls TEXT, tool_name TEXT, timestamp REAL NOT NULL,
    token_count INTEGER, finish_reason TEXT, reasoning TEXT, reasoning_content TEXT,
    reasoning_details TEXT, codex_reasoning_items TEXT, codex_message_items TEXT);
CREATE TABLE state_meta (key TEXT PRIMARY KEY, value TEXT);
CREATE INDEX idx_sessions_source ON sessions(source);
CREATE INDEX idx_sessions_parent ON sessions(parent_session_id);
CREATE INDEX idx_sessions_started ON sessions(started_at DESC);
CREATE INDEX idx_messages_session ON messages(session_id, timestamp);
CREATE UNIQUE INDEX idx_sessions_title_unique ON sessions(title) WHERE title IS NOT NULL;
INSERT INTO schema_migrations VALUES (1, 'core_tables', 0);
"""

# Version 2 added the word index. Its triggers also flatten structured content; these old
# databases hold plain-text rows only, so that branch is left out here.
V2_DDL = (
    V1_DDL
    + """
CREATE VIRTUAL TABLE messages_fts USING fts5(content);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, COALESCE(new.content, '')
        || ' ' || COALESCE(new.tool_name, '') || ' ' || COALESCE(new.tool_calls, '')); END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    DELETE FROM messages_fts WHERE rowid = old.id; END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, tool_name, tool_calls
    ON messages BEGIN DELETE FROM messages_fts WHERE rowid = old.id;
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, COALESCE(new.content, '')
        || ' ' || COALESCE(new.tool_name, '') || ' ' || COALESCE(new.tool_calls, '')); END;
INSERT INTO schema_migrations VALUES (2, 'word_search', 0);
"""
)

# Version 3 added the substring (trigram) index, again over plain-text rows here.
V3_DDL = (
    V2_DDL
    + """
CREATE VIRTUAL TABLE messages_fts_trigram USING fts5(content, tokenize='trigram');
CREATE TRIGGER messages_fts_trigram_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts_trigram(rowid, content) VALUES (new.id, COALESCE(new.content, '')
        || ' ' || COALESCE(new.tool_name, '') || ' ' || COALESCE(new.tool_calls, '')); END;
CREATE TRIGGER messages_fts_trigram_delete AFTER DELETE ON messages BEGIN
    DELETE FROM messages_fts_trigram WHERE rowid = old.id; END;
CREATE TRIGGER messages_fts_trigram_update AFTER UPDATE OF content, tool_name, tool_calls
    ON messages BEGIN DELETE FROM messages_fts_trigram WHERE rowid = old.id;
    INSERT INTO messages_fts_trigram(rowid, content) VALUES (new.id, COALESCE(new.content, '')
        || ' ' || COALESCE(new.tool_name, '') || ' ' || COALESCE(new.tool_calls, '')); END;
INSERT INTO schema_migrations VALUES (3, 'substring_search', 0);
"""
)

OLD_ROWS = """
INSERT INTO sessions (id, source, started_at, title, message_count)
    VALUES ('old', 'tui', 1700000000, 'Old chat', 2);
INSERT INTO messages (session_id, role, content, timestamp)
    VALUES ('old', 'user', 'remember the lighthouse keeper', 1700000001);
INSERT INTO messages (session_id, role, content, timestamp)
    VALUES ('old', 'assistant', '灯塔看守人的故事', 1700000002);
"""


def _versions(db: SessionDB) -> list[tuple[int, str]]:
    with _raw(db) as conn:
        return [tuple(r) for r in conn.execute("SELECT version, name FROM schema_migrations")]


def test_migrations_are_numbered_consecutively_from_one():
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert MIGRATIONS[-1].version == SCHEMA_VERSION
    assert len({m.name for m in MIGRATIONS}) == len(MIGRATIONS)


def test_a_blank_database_gets_every_migration_in_order(db):
    assert _versions(db) == [(m.version, m.name) for m in MIGRATIONS]
    with _raw(db) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert {"sessions", "messages", "state_meta", "messages_fts", "messages_fts_trigram"} <= names
    assert "idx_sessions_title_unique" in names


@pytest.mark.parametrize(
    ("version", "ddl"), [(1, V1_DDL), (2, V2_DDL), (3, V3_DDL)], ids=["v1", "v2", "v3"]
)
def test_an_older_database_is_migrated_and_its_messages_become_searchable(tmp_path, version, ddl):
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(ddl + OLD_ROWS)

    store = SessionDB(db_path=path)

    assert version < SCHEMA_VERSION
    assert [v for v, _ in _versions(store)] == list(range(1, SCHEMA_VERSION + 1))
    assert store.get_session("old")["title"] == "Old chat"
    assert [m["role"] for m in store.get_messages("old")] == ["user", "assistant"]
    assert [r["session_id"] for r in store.search_messages("lighthouse")] == ["old"]
    assert [r["session_id"] for r in store.search_messages("看守人")] == ["old"]
    store.append_message("old", role="user", content="新的灯塔消息")
    assert len(store.search_messages("灯塔")) == 2
    assert store.get_session("old")["message_count"] == 3
    store.close()


def test_a_version_3_database_gains_delegated_from_and_its_conversations_stay_listed(tmp_path):
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(V3_DDL + OLD_ROWS)

    store = SessionDB(db_path=path)

    assert (4, "delegated_sessions") in _versions(store)
    assert _versions(store)[-1] == (5, "scheduled_jobs")
    with _raw(store) as conn:
        columns = {row["name"] for row in conn.execute("PRAGMA table_info(sessions)")}
        indexes = {row["name"] for row in conn.execute("PRAGMA index_list(sessions)")}
    assert "delegated_from" in columns
    assert "idx_sessions_delegated_from" in indexes
    assert store.get_session("old")["delegated_from"] is None
    store.create_session("sub", "tui", delegated_from="old")
    store.append_message("sub", role="user", content="a subtask")
    assert store.get_session("sub")["delegated_from"] == "old"
    assert [row["id"] for row in store.list_sessions_rich()] == ["old"]
    store.close()


def test_reopening_a_current_database_applies_nothing_and_keeps_its_rows(tmp_path):
    path = tmp_path / "state.db"
    with SessionDB(db_path=path) as first:
        first.create_session("s1", source="cli")
        first.append_message("s1", role="user", content="kept")
        applied_before = _versions(first)
    with SessionDB(db_path=path) as second:
        assert _versions(second) == applied_before
        assert [m["content"] for m in second.get_messages("s1")] == ["kept"]


def test_a_database_from_a_newer_version_opens_with_a_warning(tmp_path, caplog):
    path = tmp_path / "state.db"
    SessionDB(db_path=path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (999, 'from_the_future', 0)")
    with caplog.at_level(logging.WARNING, logger="hermes_state"):
        store = SessionDB(db_path=path)
    assert "newer than this program" in caplog.text
    store.create_session("s1", source="cli")
    assert store.get_session("s1") is not None
    store.close()


# -- the write path -----------------------------------------------------------------------------


def test_execute_write_commits_and_returns_the_function_result(db):
    cursor = db._execute_write(
        lambda conn: conn.execute(
            "INSERT INTO state_meta (key, value) VALUES ('k', 'v') RETURNING key"
        ).fetchone()
    )
    assert cursor[0] == "k"
    assert db.get_meta("k") == "v"


def test_execute_write_rolls_back_everything_when_the_function_raises(db):
    def half_then_fail(conn):
        conn.execute("INSERT INTO sessions (id, source, started_at) VALUES ('half', 'cli', 0)")
        raise ValueError("refused midway")

    with pytest.raises(ValueError, match="refused midway"):
        db._execute_write(half_then_fail)
    assert db.get_session("half") is None
    db.create_session("after", source="cli")  # the connection is usable afterwards
    assert db.get_session("after") is not None


def test_integrity_errors_fail_at_once_without_retrying(db):
    start = time.monotonic()
    with pytest.raises(StoreError):
        db.append_message("no-such-session", role="user", content="x")
    assert time.monotonic() - start < 0.5


def test_a_write_waits_out_another_writer_holding_the_lock_past_the_busy_timeout(db):
    db.create_session("s1", source="cli")
    blocker = sqlite3.connect(db.db_path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    hold_s = SessionDB._BUSY_TIMEOUT_S + 0.5

    def release_later():
        time.sleep(hold_s)
        blocker.execute("COMMIT")

    releaser = threading.Thread(target=release_later)
    releaser.start()
    start = time.monotonic()
    db.append_message("s1", role="user", content="written after the wait")
    waited = time.monotonic() - start
    releaser.join()
    blocker.close()

    assert waited >= hold_s - 0.1
    assert [m["content"] for m in db.get_messages("s1")] == ["written after the wait"]


# -- session lifecycle --------------------------------------------------------------------------


def test_create_session_records_the_row_and_returns_the_id(db):
    before = time.time()
    assert (
        db.create_session(
            "s1",
            source="tui",
            model="gpt-x",
            model_config={"temperature": 0.2},
            system_prompt="be brief",
            user_id="u1",
        )
        == "s1"
    )
    row = db.get_session("s1")
    assert row["source"] == "tui"
    assert row["model"] == "gpt-x"
    assert json.loads(row["model_config"]) == {"temperature": 0.2}
    assert row["system_prompt"] == "be brief"
    assert row["user_id"] == "u1"
    assert before <= row["started_at"] <= time.time()
    assert (row["ended_at"], row["end_reason"], row["message_count"]) == (None, None, 0)


def test_creating_an_existing_session_leaves_it_unchanged(db):
    db.create_session("s1", source="tui", model="first")
    db.create_session("s1", source="web", model="second")
    row = db.get_session("s1")
    assert (row["source"], row["model"]) == ("tui", "first")


def test_create_session_rejects_unknown_fields(db):
    with pytest.raises(TypeError):
        db.create_session("s1", source="cli", colour="blue")


def test_ensure_session_creates_the_row_once_with_an_unknown_source(db):
    assert db.ensure_session("s1") == "s1"
    db.ensure_session("s1", source="web")
    assert db.get_session("s1")["source"] == "unknown"
    assert db.session_count() == 1


def test_the_first_end_reason_wins(db):
    db.create_session("s1", source="tui")
    assert db.end_session("s1", "compression") is True
    first_end = db.get_session("s1")["ended_at"]
    assert db.end_session("s1", "tui_close") is False
    row = db.get_session("s1")
    assert (row["end_reason"], row["ended_at"]) == ("compression", first_end)
    assert db.end_session("missing", "tui_close") is False


def test_reopen_session_clears_the_end_so_it_can_end_again(db):
    db.create_session("s1", source="tui")
    db.end_session("s1", "user_exit")
    assert db.reopen_session("s1") is True
    assert (db.get_session("s1")["ended_at"], db.get_session("s1")["end_reason"]) == (None, None)
    db.end_session("s1", "tui_close")
    assert db.get_session("s1")["end_reason"] == "tui_close"


def test_resolve_session_id_takes_exact_ids_and_unique_prefixes(db):
    for sid in ("20250101_abc", "20250101_abd", "20250202_xyz", "a_b"):
        db.create_session(sid, source="cli")
    assert db.resolve_session_id("20250101_abc") == "20250101_abc"
    assert db.resolve_session_id("20250202") == "20250202_xyz"
    assert db.resolve_session_id("20250101_ab") is None  # ambiguous
    assert db.resolve_session_id("a%") is None  # wildcards are literal
    assert db.resolve_session_id("a_") == "a_b"
    assert db.resolve_session_id("nothing") is None
    assert db.resolve_session_id("") is None


def test_update_system_prompt_replaces_the_prompt(db):
    db.create_session("s1", source="cli", system_prompt="old")
    assert db.update_system_prompt("s1", "new") is True
    assert db.get_session("s1")["system_prompt"] == "new"
    assert db.update_system_prompt("missing", "x") is False


def test_incremental_token_counts_add_up_and_fill_billing_fields_once(db):
    db.create_session("s1", source="cli")
    db.update_token_counts(
        "s1",
        input_tokens=100,
        output_tokens=20,
        model="m1",
        cache_read_tokens=5,
        reasoning_tokens=3,
        estimated_cost_usd=0.01,
        cost_status="estimated",
        billing_provider="openrouter",
        api_call_count=1,
    )
    db.update_token_counts(
        "s1",
        input_tokens=50,
        output_tokens=10,
        model="m2",
        estimated_cost_usd=0.02,
        actual_cost_usd=0.05,
        cost_status="actual",
        billing_provider="other",
        api_call_count=1,
    )
    row = db.get_session("s1")
    assert (row["input_tokens"], row["output_tokens"]) == (150, 30)
    assert (row["cache_read_tokens"], row["reasoning_tokens"]) == (5, 3)
    assert row["estimated_cost_usd"] == pytest.approx(0.03)
    assert row["actual_cost_usd"] == pytest.approx(0.05)
    assert row["cost_status"] == "actual"
    assert (row["billing_provider"], row["model"]) == ("openrouter", "m1")
    assert row["api_call_count"] == 2


def test_absolute_token_counts_replace_the_totals(db):
    db.create_session("s1", source="telegram")
    db.update_token_counts("s1", input_tokens=10, output_tokens=5, api_call_count=1)
    db.update_token_counts(
        "s1", input_tokens=400, output_tokens=90, api_call_count=4, absolute=True
    )
    row = db.get_session("s1")
    assert (row["input_tokens"], row["output_tokens"], row["api_call_count"]) == (400, 90, 4)
    assert row["actual_cost_usd"] is None


def test_token_counts_for_an_unknown_session_create_its_row(db):
    db.update_token_counts("late", input_tokens=7)
    row = db.get_session("late")
    assert (row["source"], row["input_tokens"]) == ("unknown", 7)


# -- titles -------------------------------------------------------------------------------------


def test_sanitize_title_removes_control_and_invisible_characters():
    assert SessionDB.sanitize_title("  Plan\x00 the\u200b\u202e   trip\t\n ") == "Plan the trip"
    assert SessionDB.sanitize_title("") is None
    assert SessionDB.sanitize_title(None) is None
    assert SessionDB.sanitize_title(" \u200b\ufeff ") is None
    assert SessionDB.sanitize_title("x" * 100) == "x" * 100


def test_a_title_over_100_characters_is_refused():
    with pytest.raises(ValueError, match=r"Title too long \(101 chars, max 100\)") as caught:
        SessionDB.sanitize_title("x" * 101)
    assert isinstance(caught.value, TitleTooLong)


def test_a_title_used_by_another_session_is_refused(db):
    db.create_session("a", source="tui")
    db.create_session("b", source="tui")
    assert db.set_session_title("a", "Chat") is True
    with pytest.raises(ValueError, match="Title 'Chat' is already in use by session a") as caught:
        db.set_session_title("b", "  Chat ")
    assert isinstance(caught.value, TitleInUse)
    assert db.get_session_title("b") is None


def test_a_session_may_set_its_own_title_again(db):
    db.create_session("a", source="tui")
    db.set_session_title("a", "Chat")
    assert db.set_session_title("a", "Chat") is True
    assert db.get_session_title("a") == "Chat"


def test_set_session_title_returns_false_when_the_row_does_not_exist(db):
    assert db.set_session_title("not-created-yet", "Chat") is False


def test_an_empty_title_clears_it_and_frees_it_for_another_session(db):
    db.create_session("a", source="tui")
    db.create_session("b", source="tui")
    db.set_session_title("a", "Chat")
    assert db.set_session_title("a", "   ") is True
    assert db.get_session_title("a") is None
    assert db.set_session_title("b", "Chat") is True


def test_the_unique_index_backs_up_title_uniqueness(db):
    db.create_session("a", source="tui")
    db.create_session("b", source="tui")
    db.set_session_title("a", "Chat")
    with pytest.raises(StoreError):
        db._execute_write(
            lambda conn: conn.execute("UPDATE sessions SET title = 'Chat' WHERE id = 'b'")
        )


def test_titles_resolve_to_the_newest_numbered_continuation(db):
    for sid, title in (("a", "Chat"), ("b", "Chat #2"), ("c", "Chat #3"), ("d", "Chat #x")):
        db.create_session(sid, source="tui")
        db.set_session_title(sid, title)
    assert db.get_session_by_title("Chat")["id"] == "a"
    assert db.get_session_by_title("Nothing") is None
    assert db.resolve_session_by_title("Chat") == "c"
    assert db.resolve_session_by_title("Chat #x") == "d"
    assert db.resolve_session_by_title("Nothing") is None


def test_next_title_in_lineage_counts_up_with_hash_numbers(db):
    assert db.get_next_title_in_lineage("Trip") == "Trip"
    db.create_session("a", source="tui")
    db.set_session_title("a", "Trip")
    assert db.get_next_title_in_lineage("Trip") == "Trip #2"
    db.create_session("b", source="tui")
    db.set_session_title("b", db.get_next_title_in_lineage("Trip"))
    assert db.get_session_title("b") == "Trip #2"
    assert db.get_next_title_in_lineage("Trip") == "Trip #3"
    assert db.get_next_title_in_lineage("Trip #2") == "Trip #3"


def test_next_title_treats_like_wildcards_literally_and_fits_the_length_limit(db):
    db.create_session("a", source="tui")
    db.set_session_title("a", "100%_done")
    db.create_session("b", source="tui")
    db.set_session_title("b", "100xxdone #7")
    assert db.get_next_title_in_lineage("100%_done") == "100%_done #2"
    db.create_session("c", source="tui")
    db.set_session_title("c", "y" * 100)
    following = db.get_next_title_in_lineage("y" * 100)
    assert following.endswith(" #2")
    assert len(following) == 100


# -- messages -----------------------------------------------------------------------------------


def test_plain_and_structured_content_round_trip(db):
    db.create_session("s1", source="web")
    parts = [
        {"type": "text", "text": "what is in this picture?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]
    first = db.append_message("s1", role="user", content="plain text")
    second = db.append_message("s1", role="user", content=parts)
    db.append_message("s1", role="user", content={"type": "text", "text": "a dict"})
    db.append_message("s1", role="user", content="\x00json:not really json")
    db.append_message("s1", role="assistant", content=None)

    assert second > first
    contents = [m["content"] for m in db.get_messages("s1")]
    assert contents == [
        "plain text",
        parts,
        {"type": "text", "text": "a dict"},
        "\x00json:not really json",
        None,
    ]
    assert db.get_session("s1")["message_count"] == 5


def test_tool_calls_and_reasoning_fields_round_trip_and_are_counted(db):
    db.create_session("s1", source="cli")
    calls = [
        {"id": "c1", "type": "function", "function": {"name": "read_file", "arguments": "{}"}},
        {"id": "c2", "type": "function", "function": {"name": "terminal", "arguments": "{}"}},
    ]
    db.append_message(
        "s1",
        role="assistant",
        content="",
        tool_calls=calls,
        finish_reason="tool_calls",
        reasoning="look first",
        reasoning_details=[{"type": "summary", "text": "r"}],
        codex_reasoning_items=[{"id": "r1"}],
        token_count=12,
    )
    db.append_message(
        "s1", role="tool", content="file body", tool_call_id="c1", tool_name="read_file"
    )
    db.append_message("s1", role="assistant", content="x", tool_calls={"id": "single"})

    assistant, tool, single = db.get_messages("s1")
    assert assistant["tool_calls"] == calls
    assert assistant["finish_reason"] == "tool_calls"
    assert assistant["reasoning"] == "look first"
    assert assistant["reasoning_details"] == [{"type": "summary", "text": "r"}]
    assert assistant["codex_reasoning_items"] == [{"id": "r1"}]
    assert assistant["token_count"] == 12
    assert (tool["tool_call_id"], tool["tool_name"], tool["tool_calls"]) == (
        "c1",
        "read_file",
        None,
    )
    assert single["tool_calls"] == {"id": "single"}
    assert db.get_session("s1")["tool_call_count"] == 3


def test_appending_to_a_missing_session_is_refused(db):
    with pytest.raises(StoreError):
        db.append_message("missing", role="user", content="lost?")
    assert db.message_count() == 0


def test_unreadable_tool_call_json_reads_as_an_empty_list(db):
    db.create_session("s1", source="cli")
    db.append_message("s1", role="assistant", content="x", tool_calls=[{"id": "c1"}])
    db._execute_write(lambda conn: conn.execute("UPDATE messages SET tool_calls = '{broken'"))
    assert db.get_messages("s1")[0]["tool_calls"] == []


def test_conversation_has_openai_fields_only_where_they_are_set(db):
    db.create_session("s1", source="cli")
    db.append_message("s1", role="system", content="rules")
    db.append_message("s1", role="user", content="  hello  ")
    calls = [{"id": "c1", "type": "function", "function": {"name": "t", "arguments": "{}"}}]
    db.append_message(
        "s1", role="assistant", content="  ", tool_calls=calls, finish_reason="tool_calls"
    )
    db.append_message("s1", role="tool", content="result", tool_call_id="c1", tool_name="t")
    db.append_message("s1", role="assistant", content="done ", reasoning="thought")

    assert db.get_messages_as_conversation("s1") == [
        {"role": "system", "content": "rules"},
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "", "tool_calls": calls, "finish_reason": "tool_calls"},
        {"role": "tool", "content": "result", "tool_call_id": "c1", "tool_name": "t"},
        {"role": "assistant", "content": "done", "reasoning": "thought"},
    ]


def test_conversation_with_ancestors_reads_root_to_tip_without_the_repeated_user_turn(db):
    db.create_session("root", source="tui")
    db.append_message("root", role="user", content="hello")
    db.append_message("root", role="assistant", content="hi there")
    db.append_message("root", role="user", content="plan my trip")
    db.end_session("root", "compression")
    db.create_session("tip", source="tui", parent_session_id="root")
    db.append_message("tip", role="user", content="plan my trip")
    db.append_message("tip", role="assistant", content="here is a plan")

    assert [m["content"] for m in db.get_messages_as_conversation("tip")] == [
        "plan my trip",
        "here is a plan",
    ]
    assert [
        m["content"] for m in db.get_messages_as_conversation("tip", include_ancestors=True)
    ] == [
        "hello",
        "hi there",
        "plan my trip",
        "here is a plan",
    ]


def test_replace_messages_swaps_the_transcript_and_recounts(db):
    db.create_session("s1", source="web")
    db.append_message("s1", role="user", content="obsolete wording")
    db.replace_messages(
        "s1",
        [
            {"role": "user", "content": "fresh question"},
            {"role": "assistant", "content": "fresh answer", "tool_calls": [{"id": "a"}]},
            {"role": "tool", "content": "out", "tool_call_id": "a", "tool_name": "terminal"},
        ],
    )
    messages = db.get_messages("s1")
    assert [m["content"] for m in messages] == ["fresh question", "fresh answer", "out"]
    stamps = [m["timestamp"] for m in messages]
    assert stamps == sorted(stamps) and len(set(stamps)) == 3
    row = db.get_session("s1")
    assert (row["message_count"], row["tool_call_count"]) == (3, 1)
    assert db.search_messages("obsolete") == []
    assert [r["role"] for r in db.search_messages("fresh")] == ["user", "assistant"]


def test_clear_messages_empties_the_transcript_and_zeroes_counters(db):
    db.create_session("s1", source="web")
    db.append_message("s1", role="assistant", content="gone soon", tool_calls=[{"id": "a"}])
    db.clear_messages("s1")
    row = db.get_session("s1")
    assert db.get_messages("s1") == []
    assert (row["message_count"], row["tool_call_count"]) == (0, 0)
    assert db.search_messages("gone") == []


def test_compression_tip_follows_the_newest_continuation(db):
    db.create_session("r", source="tui")
    db.create_session("early-child", source="tui", parent_session_id="r")  # before the end
    db.end_session("r", "compression")
    db.create_session("c1", source="tui", parent_session_id="r")
    db.end_session("c1", "compression")
    db.create_session("c2", source="tui", parent_session_id="c1")
    db.create_session("plain", source="tui")

    assert db.get_compression_tip("r") == "c2"
    assert db.get_compression_tip("c1") == "c2"
    assert db.get_compression_tip("plain") == "plain"
    assert db.get_compression_tip("missing") is None


def test_resume_moves_from_an_empty_session_to_its_first_descendant_with_messages(db):
    db.create_session("root", source="tui")
    db.create_session("empty-child", source="tui", parent_session_id="root")
    db.create_session("grandchild", source="tui", parent_session_id="empty-child")
    db.append_message("grandchild", role="user", content="here")
    db.create_session("lonely", source="tui")

    assert db.resolve_resume_session_id("root") == "grandchild"
    assert db.resolve_resume_session_id("grandchild") == "grandchild"
    assert db.resolve_resume_session_id("lonely") == "lonely"


# -- listing ------------------------------------------------------------------------------------


def test_listing_carries_a_one_line_preview_and_the_last_activity(db):
    db.create_session("s1", source="web")
    db.append_message("s1", role="assistant", content="greeting first")
    db.append_message("s1", role="user", content="line one\nline two " + "z" * 80)
    last = db.append_message("s1", role="assistant", content="reply")
    db.create_session("empty", source="web")

    rows = {row["id"]: row for row in db.list_sessions_rich()}
    assert rows["s1"]["preview"] == ("line one line two " + "z" * 80)[:60] + "..."
    last_stamp = next(m["timestamp"] for m in db.get_messages("s1") if m["id"] == last)
    assert rows["s1"]["last_active"] == last_stamp
    assert rows["empty"]["preview"] == ""
    assert rows["empty"]["last_active"] == rows["empty"]["started_at"]
    assert _ids(db.list_sessions_rich()) == ["empty", "s1"]  # newest start first


def test_listing_preview_shows_the_text_of_structured_content(db):
    db.create_session("s1", source="web")
    parts = [
        {"type": "text", "text": "describe this"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
    ]
    db.append_message("s1", role="user", content=parts)
    assert db.list_sessions_rich()[0]["preview"] == "describe this"


def test_a_compressed_conversation_is_listed_once_as_its_tip(db):
    db.create_session("root", source="tui", model="m1")
    db.set_session_title("root", "Plan")
    db.append_message("root", role="user", content="first question")
    db.end_session("root", "compression")
    db.create_session("tip", source="tui", model="m2", parent_session_id="root")
    db.set_session_title("tip", db.get_next_title_in_lineage("Plan"))
    db.append_message("tip", role="user", content="after compression")

    (row,) = db.list_sessions_rich()
    root = db.get_session("root")
    assert row["id"] == "tip"
    assert row["_lineage_root_id"] == "root"
    assert row["started_at"] == root["started_at"]
    assert (row["title"], row["preview"], row["model"]) == ("Plan #2", "after compression", "m2")
    assert (row["ended_at"], row["end_reason"], row["message_count"]) == (None, None, 1)

    unprojected = db.list_sessions_rich(project_compression_tips=False)
    assert _ids(unprojected) == ["root"]
    assert "_lineage_root_id" not in unprojected[0]
    assert sorted(_ids(db.list_sessions_rich(include_children=True))) == ["root", "tip"]


def test_branches_are_listed_but_other_children_are_not(db):
    db.create_session("parent", source="web")
    db.end_session("parent", "branched")
    db.create_session("branch", source="web", parent_session_id="parent")
    db.create_session("other", source="web")
    db.end_session("other", "user_exit")
    db.create_session("subagent", source="web", parent_session_id="other")

    assert sorted(_ids(db.list_sessions_rich())) == ["branch", "other", "parent"]


def test_listing_filters_by_source_and_pages(db):
    for i in range(5):
        db.create_session(f"web{i}", source="web")
    db.create_session("cli0", source="cli")
    db.create_session("tg0", source="telegram")

    assert _ids(db.list_sessions_rich(source="web", limit=2)) == ["web4", "web3"]
    assert _ids(db.list_sessions_rich(source="web", limit=2, offset=4)) == ["web0"]
    assert sorted(_ids(db.list_sessions_rich(exclude_sources=["web", "telegram"]))) == ["cli0"]


def test_listing_by_last_active_uses_activity_anywhere_in_the_lineage(db):
    db.create_session("old-root", source="tui")
    db.append_message("old-root", role="user", content="long ago")
    db.end_session("old-root", "compression")
    db.create_session("newer", source="tui")
    db.append_message("newer", role="user", content="a while ago")
    db.create_session("old-tip", source="tui", parent_session_id="old-root")
    db.append_message("old-tip", role="user", content="just now")

    assert _ids(db.list_sessions_rich()) == ["newer", "old-tip"]  # by start: the root is older
    by_activity = db.list_sessions_rich(order_by_last_active=True)
    assert _ids(by_activity) == ["old-tip", "newer"]
    assert by_activity[0]["_lineage_root_id"] == "old-root"


def test_search_sessions_orders_by_latest_activity(db):
    db.create_session("a", source="web")
    db.create_session("b", source="cli")
    db.append_message("a", role="user", content="later activity")
    rows = db.search_sessions()
    assert _ids(rows) == ["a", "b"]
    assert rows[0]["last_active"] == db.get_messages("a")[0]["timestamp"]
    assert _ids(db.search_sessions(source="cli")) == ["b"]


def test_counts_and_exports_cover_sessions_and_messages(db):
    db.create_session("a", source="web")
    db.create_session("b", source="cli")
    db.append_message("a", role="user", content="one")
    db.append_message("a", role="assistant", content="two")
    db.append_message("b", role="user", content="three")

    assert (db.session_count(), db.session_count(source="web")) == (2, 1)
    assert (db.message_count(), db.message_count("a")) == (3, 2)
    exported = db.export_session("a")
    assert exported["id"] == "a"
    assert [m["content"] for m in exported["messages"]] == ["one", "two"]
    assert db.export_session("missing") is None
    assert [e["id"] for e in db.export_all()] == ["a", "b"]
    assert [e["id"] for e in db.export_all(source="cli")] == ["b"]


# -- search -------------------------------------------------------------------------------------


@pytest.fixture
def searchable(db) -> SessionDB:
    db.create_session("web1", source="web", model="m-web")
    db.append_message("web1", role="user", content="where is the lighthouse?")
    db.append_message("web1", role="assistant", content="The lighthouse stands on the cliff.")
    db.append_message("web1", role="user", content="thanks")
    db.create_session("tui1", source="tui")
    db.append_message("tui1", role="user", content="foo bar baz lighthouse")
    return db


def test_search_finds_words_with_marked_snippets_and_context(searchable):
    results = searchable.search_messages("cliff")
    assert len(results) == 1
    hit = results[0]
    assert (hit["session_id"], hit["role"], hit["source"], hit["model"]) == (
        "web1",
        "assistant",
        "web",
        "m-web",
    )
    assert ">>>cliff<<<" in hit["snippet"]
    assert hit["session_started"] == searchable.get_session("web1")["started_at"]
    assert [c["content"] for c in hit["context"]] == [
        "where is the lighthouse?",
        "The lighthouse stands on the cliff.",
        "thanks",
    ]
    first = searchable.search_messages("where")[0]
    assert [c["role"] for c in first["context"]] == ["user", "assistant"]


def test_search_filters_by_source_role_and_excluded_sources(searchable):
    assert {r["session_id"] for r in searchable.search_messages("lighthouse")} == {"web1", "tui1"}
    assert {
        r["session_id"] for r in searchable.search_messages("lighthouse", source_filter="tui")
    } == {"tui1"}
    assert {
        r["session_id"] for r in searchable.search_messages("lighthouse", exclude_sources=["tui"])
    } == {"web1"}
    assert [
        r["role"] for r in searchable.search_messages("lighthouse", role_filter=["assistant"])
    ] == ["assistant"]
    assert len(searchable.search_messages("lighthouse", limit=1)) == 1
    assert len(searchable.search_messages("lighthouse", limit=2, offset=2)) == 1


def test_search_understands_prefixes_phrases_and_operators(searchable):
    assert len(searchable.search_messages("light*")) == 3
    assert [r["session_id"] for r in searchable.search_messages('"foo bar"')] == ["tui1"]
    assert searchable.search_messages('"bar foo"') == []
    assert {r["session_id"] for r in searchable.search_messages("cliff OR baz")} == {
        "web1",
        "tui1",
    }
    not_cliff = searchable.search_messages("lighthouse NOT cliff")
    assert sorted(r["snippet"] for r in not_cliff) == [
        "foo bar baz >>>lighthouse<<<",
        "where is the >>>lighthouse<<<?",
    ]


@pytest.mark.parametrize(
    ("query", "finds_foo"),
    [
        ('"foo AND', True),
        ("foo AND", True),
        ("AND foo", True),
        ("foo OR", True),
        ("NOT foo", True),
        ("foo)", True),
        ("(foo", True),
        ("foo*bar*", True),
        ("content:foo", False),
        ("^foo", True),
        ("-foo", True),
        ("'; DROP TABLE messages; --", False),
        ("foo\x00", True),
        ("*", False),
        ("***", False),
        ("NEAR(", False),
        ("NEAR(foo bar", False),
        ('"', False),
        ('""', False),
        ('" "', False),
        ("AND", False),
        ("OR NOT", False),
        ("()", False),
        (":", False),
        ("{} []", False),
        ("", False),
        ("   ", False),
        ("x" * 3000, False),
    ],
)
def test_search_survives_hostile_query_strings(searchable, query, finds_foo):
    results = searchable.search_messages(query)
    assert isinstance(results, list)
    assert ("tui1" in {r["session_id"] for r in results}) is finds_foo
    assert searchable.message_count() == 4


def test_sanitized_queries_quote_every_term():
    assert sanitize_fts_query("foo AND") == '"foo"'
    assert sanitize_fts_query('"foo bar" baz*') == '"foo bar" "baz"*'
    assert sanitize_fts_query("foo AND OR bar") == '"foo" OR "bar"'
    assert sanitize_fts_query("hermes-state.py") == '"hermes-state.py"'
    assert sanitize_fts_query('say "hi') == '"say" "hi"'
    assert sanitize_fts_query("NEAR(") == '"NEAR("'
    assert sanitize_fts_query("* ( ) ^") == ""


def test_search_finds_cjk_text_as_substrings(db):
    db.create_session("zh", source="web")
    db.append_message("zh", role="user", content="我们讨论了数据库索引和全文搜索的性能")
    db.create_session("ja", source="web")
    db.append_message("ja", role="user", content="東京の天気はどうですか")

    assert [r["session_id"] for r in db.search_messages("全文搜索")] == ["zh"]
    assert ">>>全文搜索<<<" in db.search_messages("全文搜索")[0]["snippet"]
    two_chars = db.search_messages("索引")
    assert [r["session_id"] for r in two_chars] == ["zh"]
    assert ">>>索引<<<" in two_chars[0]["snippet"]
    assert [r["session_id"] for r in db.search_messages("数据库 索引")] == ["zh"]
    assert [r["session_id"] for r in db.search_messages("天気")] == ["ja"]
    assert db.search_messages("不存在的词") == []
    assert db.search_messages("数据库 不在") == []


def test_search_reaches_tool_calls_and_the_text_of_structured_content(db):
    db.create_session("s1", source="cli")
    db.append_message(
        "s1",
        role="assistant",
        content=None,
        tool_calls=[{"function": {"name": "web_search", "arguments": '{"q": "Lisbon weather"}'}}],
    )
    db.append_message("s1", role="tool", content="sunny", tool_name="terminal")
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,QUJDREVGR0g="}}
    db.append_message(
        "s1", role="user", content=[{"type": "text", "text": "quarterly report"}, image]
    )

    assert [r["role"] for r in db.search_messages("Lisbon")] == ["assistant"]
    assert [r["role"] for r in db.search_messages("terminal")] == ["tool"]
    hit = db.search_messages("quarterly")[0]
    assert hit["snippet"] == ">>>quarterly<<< report"
    assert hit["context"][-1]["content"] == "quarterly report"
    assert db.search_messages("QUJDREVGR0g") == []
    assert db.search_messages("image_url") == []


# -- deletion and maintenance -------------------------------------------------------------------


def test_delete_session_keeps_children_detached_and_removes_its_files(db, tmp_path):
    sessions_dir = tmp_path / "sessions"
    sessions_dir.mkdir()
    for name in ("p.json", "p.jsonl", "request_dump_p_1.json", "request_dump_p_2.json", "q.json"):
        (sessions_dir / name).write_text("{}")
    db.create_session("p", source="web")
    db.append_message("p", role="user", content="doomed words")
    db.create_session("child", source="web", parent_session_id="p")
    db.create_session("q", source="web")

    assert db.delete_session("p", sessions_dir=sessions_dir) is True
    assert db.get_session("p") is None
    assert db.get_session("child")["parent_session_id"] is None
    assert db.message_count("p") == 0
    assert db.search_messages("doomed") == []
    assert sorted(p.name for p in sessions_dir.iterdir()) == ["q.json"]
    assert db.delete_session("p") is False


def test_delete_session_never_removes_files_outside_the_sessions_dir(db, tmp_path):
    sessions_dir = tmp_path / "sessions"
    sessions_dir.mkdir()
    (tmp_path / "secret.json").write_text("keep")
    db.create_session("../secret", source="web")
    assert db.delete_session("../secret", sessions_dir=sessions_dir) is True
    assert (tmp_path / "secret.json").read_text() == "keep"


def test_prune_sessions_removes_only_old_ended_sessions(db):
    for sid, source, ended, age in (
        ("old-ended", "cli", True, 100 * DAY),
        ("old-open", "cli", False, 100 * DAY),
        ("new-ended", "cli", True, 1 * DAY),
        ("old-ended-web", "web", True, 100 * DAY),
    ):
        db.create_session(sid, source=source)
        db.append_message(sid, role="user", content="x")
        if ended:
            db.end_session(sid, "user_exit")
        _backdate(db, sid, age)

    assert db.prune_sessions(older_than_days=90, source="cli") == 1
    assert db.get_session("old-ended") is None
    assert db.prune_sessions(older_than_days=90) == 1
    assert sorted(r["id"] for r in db.search_sessions()) == ["new-ended", "old-open"]
    assert db.message_count() == 2


def test_prune_empty_ghost_sessions_deletes_only_rows_meeting_every_rule(db, tmp_path):
    sessions_dir = tmp_path / "sessions"
    sessions_dir.mkdir()
    (sessions_dir / "ghost.json").write_text("{}")
    cases = {
        "ghost": {},
        "from-web": {"source": "web"},
        "titled": {"title": "Kept"},
        "still-open": {"ended": False},
        "recent": {"age": 3600},
        "has-message": {"message": True},
    }
    for sid, case in cases.items():
        db.create_session(sid, source=case.get("source", "tui"))
        if "title" in case:
            db.set_session_title(sid, case["title"])
        if case.get("message"):
            db.append_message(sid, role="user", content="x")
        if case.get("ended", True):
            db.end_session(sid, "tui_close")
        _backdate(db, sid, case.get("age", 2 * DAY))

    assert db.prune_empty_ghost_sessions(sessions_dir=sessions_dir) == 1
    assert db.get_session("ghost") is None
    assert not (sessions_dir / "ghost.json").exists()
    assert all(db.get_session(sid) is not None for sid in cases if sid != "ghost")


def _orphan_case(db: SessionDB, **case) -> None:
    """A compression parent and a continuation that qualifies unless `case` changes one rule."""
    db.create_session("parent", source="tui")
    if case.get("parent_end") == "compression-open":
        db._execute_write(
            lambda conn: conn.execute("UPDATE sessions SET end_reason = 'compression'")
        )
    else:
        db.end_session("parent", case.get("parent_end", "compression"))
    parent = None if case.get("no_parent") else "parent"
    db.create_session("cont", source="tui", parent_session_id=parent)
    if case.get("messages", True):
        db.append_message("cont", role="user", content="continued")
    if case.get("api_calls"):
        db.update_token_counts("cont", api_call_count=case["api_calls"])
    if case.get("ended"):
        db.end_session("cont", "user_exit")
    if case.get("title"):
        db.set_session_title("cont", case["title"])
    _backdate(db, "cont", case.get("age", 8 * DAY))


@pytest.mark.parametrize(
    ("case", "finalized"),
    [
        ({}, True),
        ({"title": "Chat #2"}, True),
        ({"api_calls": 1}, False),
        ({"ended": True}, False),
        ({"age": 6 * DAY}, False),
        ({"no_parent": True}, False),
        ({"parent_end": "user_exit"}, False),
        ({"parent_end": "compression-open"}, False),
        ({"messages": False}, False),
    ],
    ids=[
        "qualifies",
        "titled",
        "made-api-calls",
        "already-ended",
        "younger-than-7-days",
        "no-parent",
        "parent-not-compressed",
        "parent-not-ended",
        "no-messages",
    ],
)
def test_orphan_finalizer_ends_only_stale_compression_continuations(db, case, finalized):
    _orphan_case(db, **case)
    assert db.finalize_orphaned_compression_sessions() == int(finalized)
    row = db.get_session("cont")
    if finalized:
        assert row["end_reason"] == "orphaned_compression"
        assert row["ended_at"] is not None
        assert db.get_messages("cont")[0]["content"] == "continued"
    else:
        assert row["end_reason"] != "orphaned_compression"
    assert db.finalize_orphaned_compression_sessions() == 0


def test_meta_values_round_trip_and_overwrite(db):
    assert db.get_meta("orphaned_compression_finalize_v1") is None
    db.set_meta("orphaned_compression_finalize_v1", "1")
    db.set_meta("other", "a")
    db.set_meta("other", "b")
    assert db.get_meta("orphaned_compression_finalize_v1") == "1"
    assert db.get_meta("other") == "b"


def test_vacuum_keeps_every_row_and_empties_the_wal(db):
    db.create_session("s1", source="cli")
    for i in range(60):
        db.append_message("s1", role="user", content=f"message {i}")
    db.delete_session("s1")
    db.create_session("s2", source="cli")
    db.append_message("s2", role="user", content="survivor")
    db.vacuum()
    assert [m["content"] for m in db.get_messages("s2")] == ["survivor"]
    assert db.search_messages("survivor")[0]["session_id"] == "s2"
    assert Path(str(db.db_path) + "-wal").stat().st_size == 0


# -- concurrency --------------------------------------------------------------------------------


def test_threads_sharing_one_store_lose_no_message(db):
    db.create_session("shared", source="web")
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(100):
                db.append_message("shared", role="user", content=f"t{n} m{i}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert db.message_count("shared") == 400
    assert db.get_session("shared")["message_count"] == 400


WRITER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from hermes_state import SessionDB

    db_path, worker, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    db = SessionDB(db_path=db_path)
    own = f"own-{worker}"
    db.create_session(own, source="cli")
    print("ready", flush=True)
    deadline = time.monotonic() + 30
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    errors, started = [], time.time()
    for i in range(count):
        for sid in (own, "shared"):
            try:
                db.append_message(sid, role="user", content=f"w{worker} m{i} marker")
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
    db.close()
    print(json.dumps({"errors": errors, "started": started, "ended": time.time()}), flush=True)
    """
)


def test_four_writer_processes_lose_no_message_and_never_see_a_lock_error(tmp_path):
    workers, per_worker = 4, 500
    path = tmp_path / "state.db"
    go = tmp_path / "go"
    with SessionDB(db_path=path) as setup:
        setup.create_session("shared", source="web")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(n), str(per_worker), str(go)],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(workers)
    ]
    try:
        assert [p.stdout.readline().strip() for p in procs] == ["ready"] * workers
        go.touch()
        outputs = [p.communicate(timeout=90) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    assert [p.returncode for p in procs] == [0] * workers, [err for _, err in outputs]
    reports = [json.loads(out) for out, _ in outputs]
    assert [r["errors"] for r in reports] == [[]] * workers
    assert max(r["started"] for r in reports) < min(r["ended"] for r in reports)  # all at once

    with SessionDB(db_path=path) as db:
        for n in range(workers):
            own = [m["content"] for m in db.get_messages(f"own-{n}")]
            assert own == [f"w{n} m{i} marker" for i in range(per_worker)]
            assert db.get_session(f"own-{n}")["message_count"] == per_worker
        shared = [m["content"] for m in db.get_messages("shared")]
        assert len(shared) == workers * per_worker
        for n in range(workers):
            mine = [c for c in shared if c.startswith(f"w{n} ")]
            assert mine == [f"w{n} m{i} marker" for i in range(per_worker)]
        assert db.get_session("shared")["message_count"] == workers * per_worker
        assert db.message_count() == 2 * workers * per_worker
        with _raw(db) as conn:
            for table in ("messages_fts", "messages_fts_trigram"):
                indexed = conn.execute(
                    f"SELECT COUNT(*) FROM {table} WHERE {table} MATCH 'marker'"
                ).fetchone()[0]
                assert indexed == 2 * workers * per_worker


def test_delete_messages_drops_exactly_the_named_rows_and_recounts(db):
    db.create_session("t1", "web")
    db.create_session("t2", "tui")
    db.append_message("t1", "user", "yes")
    db.append_message("t1", "assistant", "", tool_calls=[{"id": "c1", "type": "function"}])
    db.append_message("t1", "tool", "tool output", tool_call_id="c1")
    db.append_message("t1", "user", "yes walrus")
    db.append_message("t2", "user", "yes")
    ids = [m["id"] for m in db.get_messages("t1")]
    other = db.get_messages("t2")[0]["id"]

    assert db.delete_messages("t1", [ids[1], ids[3], other, 10_000]) == 2

    assert [m["id"] for m in db.get_messages("t1")] == [ids[0], ids[2]]
    assert [m["id"] for m in db.get_messages("t2")] == [other], "another conversation's row"
    row = db.get_session("t1")
    assert (row["message_count"], row["tool_call_count"]) == (2, 0)
    assert db.search_messages("walrus") == []
    assert db.delete_messages("t1", []) == 0


def test_delete_messages_reaches_the_ancestors_of_a_compressed_conversation(db):
    db.create_session("parent", "web")
    db.append_message("parent", "user", "before the summary")
    db.end_session("parent", "compression")
    db.create_session("child", "web", parent_session_id="parent")
    db.append_message("child", "user", "after it")
    parent_row = db.get_messages("parent")[0]["id"]

    assert db.delete_messages("child", [parent_row]) == 1
    assert db.get_messages("parent") == []


def test_messages_after_a_row_are_the_later_ones_with_their_ids(db):
    db.create_session("t1", "web")
    for role, text in [
        ("user", "yes"),
        ("assistant", "one"),
        ("user", "yes"),
        ("assistant", "two"),
    ]:
        db.append_message("t1", role, text)
    ids = [m["id"] for m in db.get_messages("t1")]

    later = db.messages_after("t1", ids[1])

    assert [(m["role"], m["content"], m["_row_id"]) for m in later] == [
        ("user", "yes", ids[2]),
        ("assistant", "two", ids[3]),
    ]
    assert len(db.messages_after("t1", None)) == 4
    assert db.messages_after("t1", ids[3]) == []
    assert db.last_message_id("t1") == ids[3]
    assert db.last_message_id("nobody") is None


def test_forget_deletes_the_rows_of_undone_messages_by_id(db):
    from hermes_agent.history import forget

    db.create_session("t2", "tui")
    for role, text in [("user", "yes"), ("assistant", "b"), ("user", "yes"), ("assistant", "d")]:
        db.append_message("t2", role, text)
    history = db.get_messages_as_conversation("t2", with_row_ids=True)

    forget(db, "t2", history[2:])

    assert [(m["role"], m["content"]) for m in db.get_messages("t2")] == [
        ("user", "yes"),
        ("assistant", "b"),
    ]
    forget(db, "t2", [{"role": "user", "content": "yes"}])  # no row id: nothing to delete
    assert db.message_count("t2") == 2


def test_the_change_mark_moves_with_every_commit_ours_or_another_connections(db, tmp_path):
    """`data_version` sees only the others' commits; `change_mark` sees ours as well, so a
    cache of rows this process writes too knows when to read again."""
    mark, version = db.change_mark(), db.data_version()
    db.get_session("nothing")
    assert db.change_mark() == mark, "a read changes nothing"

    db.create_session("ours", "cron")
    assert db.data_version() == version
    assert db.change_mark() != mark
    mark = db.change_mark()

    other = SessionDB(db_path=db.db_path)
    other.create_session("theirs", "tui")
    other.close()
    assert db.change_mark() != mark
