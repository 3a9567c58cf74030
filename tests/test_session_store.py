"""The session store in-process: file format, the LRU cache, the sidebar list and its index.

Every test points the store at its own temp directory; nothing else about the store is
replaced, so these tests read and write real files through the real code.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from api import models, session_index
from api.config import SESSIONS_MAX, STREAMS, STREAMS_LOCK
from api.models import Session, all_sessions, get_session, index_rows, new_session, title_from
from hermes_agent.errors import StoreError

INDEX_POLL_SECONDS = 2.0


@pytest.fixture(autouse=True)
def session_dir(tmp_path, monkeypatch) -> Path:
    """A private session directory; the index and the cache start empty and are dropped after."""
    directory = tmp_path / "sessions"
    directory.mkdir()
    session_index.close_current()
    monkeypatch.setattr(models, "SESSION_DIR", directory)
    monkeypatch.setattr(models, "SESSION_INDEX_FILE", directory / "_index.json")
    models.SESSIONS.clear()
    yield directory
    session_index.close_current()
    models.SESSIONS.clear()


def _saved(sid: str, title: str = "A title", messages: list | None = None, **fields) -> Session:
    session = Session(
        session_id=sid,
        title=title,
        messages=[{"role": "user", "content": "hi"}] if messages is None else messages,
        **fields,
    )
    session.save()
    return session


def _file(session_dir: Path, sid: str) -> dict:
    return json.loads((session_dir / f"{sid}.json").read_bytes())


def _index_rows(session_dir: Path) -> dict[str, dict]:
    return {
        row["session_id"]: row for row in json.loads((session_dir / "_index.json").read_bytes())
    }


def _poll(check, seconds: float = INDEX_POLL_SECONDS) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def _wait_until_index_is_quiet(session_dir: Path) -> None:
    """Return once the index file has not changed for longer than the writer's interval."""
    index_path = session_dir / "_index.json"
    deadline = time.monotonic() + INDEX_POLL_SECONDS
    last = index_path.stat().st_mtime_ns
    while time.monotonic() < deadline:
        time.sleep(0.4)
        current = index_path.stat().st_mtime_ns
        if current == last:
            return
        last = current
    raise AssertionError("the index file kept changing with no saves")


def _exchange(n: int, ts: float) -> list[dict]:
    return [
        {"role": "user", "content": f"question {n}", "_ts": ts},
        {"role": "assistant", "content": f"answer {n}", "_ts": ts + 1},
    ]


# ── file format ──────────────────────────────────────────────────────────────────────────
def test_saved_file_lists_metadata_before_the_transcript(session_dir):
    _saved("fmt1", title="Format", messages=_exchange(1, 1000.0), pinned=True)
    keys = list(_file(session_dir, "fmt1"))
    metadata = ["session_id", "title", "workspace", "model", "created_at", "updated_at", "pinned"]
    assert keys[: len(metadata)] == metadata
    messages_at = keys.index("messages")
    assert "active_stream_id" in keys[:messages_at]
    assert "pending_user_message" in keys[:messages_at]
    assert not set(metadata) & set(keys[messages_at:])


def test_saved_file_is_indented_json_that_round_trips(session_dir):
    original = _saved("fmt2", title="Round trip", messages=_exchange(1, 1000.0))
    raw = (session_dir / "fmt2.json").read_text()
    assert raw.startswith('{\n  "session_id": "fmt2"')
    data = json.loads(raw)
    assert data["title"] == "Round trip"
    assert data["messages"] == original.messages
    loaded = Session.load("fmt2")
    assert loaded.messages == original.messages
    assert loaded.created_at == original.created_at
    assert loaded.updated_at == original.updated_at


def test_underscore_attributes_are_never_written(session_dir):
    session = Session(session_id="fmt3", title="Private", messages=[])
    session._scratch = {"secret": "runtime only"}
    session.save()
    data = _file(session_dir, "fmt3")
    assert "_scratch" not in data
    assert [key for key in data if key.startswith("_")] == []
    assert "runtime only" not in (session_dir / "fmt3.json").read_text()


def test_unknown_keys_in_a_file_are_ignored_on_load(session_dir):
    _saved("fmt4", title="Known", messages=_exchange(1, 1000.0))
    data = _file(session_dir, "fmt4")
    data["field_from_a_newer_version"] = {"nested": [1, 2, 3]}
    data["_runtime_leftover"] = True
    (session_dir / "fmt4.json").write_text(json.dumps(data))

    loaded = Session.load("fmt4")

    assert loaded.title == "Known"
    assert loaded.messages == data["messages"]
    assert not hasattr(loaded, "field_from_a_newer_version")
    assert not hasattr(loaded, "_runtime_leftover")


def test_file_session_id_comes_from_the_file_name_not_its_content(session_dir):
    _saved("fmt5", title="Named by file")
    data = _file(session_dir, "fmt5")
    data["session_id"] = "someone_else"
    (session_dir / "fmt5.json").write_text(json.dumps(data))
    assert Session.load("fmt5").session_id == "fmt5"


# ── new sessions and the cache ───────────────────────────────────────────────────────────
def test_new_session_writes_nothing_to_disk(session_dir):
    session = new_session(model="some/model")
    assert session.session_id in models.SESSIONS
    assert list(session_dir.iterdir()) == []
    assert get_session(session.session_id) is session
    assert list(session_dir.iterdir()) == []


def test_get_session_returns_the_same_cached_object_to_every_caller(session_dir):
    _saved("cache1")
    first = get_session("cache1")
    second = get_session("cache1")
    assert first is second
    assert models.SESSIONS["cache1"] is first


@pytest.mark.parametrize(
    "sid",
    ["nope", "../outside", "..", "sub/inner", "UPPER", "has-dash", "", "x" * 65, "a.json", "a\x00"],
)
def test_get_session_raises_key_error_for_unknown_or_path_like_ids(session_dir, sid):
    outside = session_dir.parent / "outside.json"
    outside.write_text(json.dumps({"session_id": "outside", "title": "Escaped", "messages": []}))
    inner = session_dir / "sub"
    inner.mkdir()
    (inner / "inner.json").write_text(json.dumps({"title": "Nested", "messages": []}))
    with pytest.raises(KeyError):
        get_session(sid)
    assert sid not in models.SESSIONS


def test_cache_keeps_at_most_its_bound_and_evicts_the_least_recently_used(session_dir):
    _saved("lru_oldest", title="Oldest")
    oldest = get_session("lru_oldest")
    kept = new_session()
    for _ in range(SESSIONS_MAX - 2):
        new_session()
    assert len(models.SESSIONS) == SESSIONS_MAX
    assert get_session(kept.session_id) is kept  # touched: now the most recently used

    newest = [new_session() for _ in range(2)]

    assert len(models.SESSIONS) == SESSIONS_MAX
    assert "lru_oldest" not in models.SESSIONS
    assert kept.session_id in models.SESSIONS
    assert all(s.session_id in models.SESSIONS for s in newest)
    reloaded = get_session("lru_oldest")
    assert reloaded is not oldest
    assert reloaded.title == "Oldest"


def test_cache_never_evicts_a_session_with_a_live_stream(session_dir):
    streaming = new_session()
    streaming.active_stream_id = "stream_under_test"
    with STREAMS_LOCK:
        STREAMS["stream_under_test"] = object()
    try:
        for _ in range(SESSIONS_MAX + 5):
            new_session()
        assert models.SESSIONS.get(streaming.session_id) is streaming
    finally:
        with STREAMS_LOCK:
            STREAMS.pop("stream_under_test", None)


# ── the sidebar ──────────────────────────────────────────────────────────────────────────
def test_all_sessions_lists_pinned_first_then_newest_activity(session_dir):
    _saved("order_old", title="Old", messages=_exchange(1, 1000.0))
    _saved("order_new", title="New", messages=_exchange(1, 3000.0))
    _saved("order_mid", title="Mid", messages=_exchange(1, 2000.0))
    _saved("order_pinned_old", title="Pinned old", messages=_exchange(1, 500.0), pinned=True)
    _saved("order_pinned_new", title="Pinned new", messages=_exchange(1, 2500.0), pinned=True)

    sids = [row["session_id"] for row in all_sessions()]

    assert sids == ["order_pinned_new", "order_pinned_old", "order_new", "order_mid", "order_old"]


def test_all_sessions_orders_by_last_message_not_by_last_save(session_dir):
    _saved("act_recent_talk", title="Talked recently", messages=_exchange(1, 5000.0))
    _saved("act_recent_save", title="Saved recently", messages=_exchange(1, 1000.0))
    sids = [row["session_id"] for row in all_sessions()]
    assert sids == ["act_recent_talk", "act_recent_save"]


def test_all_sessions_hides_empty_untitled_drafts(session_dir):
    draft = new_session()
    Session(session_id="saved_draft", messages=[]).save()
    _saved("titled_empty", title="Has a title", messages=[])
    _saved("untitled_with_messages", title="Untitled", messages=_exchange(1, 1000.0))

    sids = {row["session_id"] for row in all_sessions()}

    assert draft.session_id not in sids
    assert "saved_draft" not in sids
    assert {"titled_empty", "untitled_with_messages"} <= sids


def test_all_sessions_shows_an_untitled_draft_with_a_pending_message(session_dir):
    draft = new_session()
    draft.pending_user_message = "typed before the crash"
    saved = Session(session_id="saved_pending", messages=[], pending_user_message="also typed")
    saved.save()
    sids = {row["session_id"] for row in all_sessions()}
    assert draft.session_id in sids
    assert "saved_pending" in sids


def test_all_sessions_shows_an_untitled_draft_with_an_active_stream(session_dir):
    draft = new_session()
    draft.active_stream_id = "stream_live_draft"
    Session(session_id="saved_streaming", messages=[], active_stream_id="stream_gone").save()
    sids = {row["session_id"] for row in all_sessions()}
    assert draft.session_id in sids
    assert "saved_streaming" in sids


def test_all_sessions_shows_live_state_of_cached_sessions_ahead_of_their_save(session_dir):
    _saved("live1", title="Saved title")
    live = get_session("live1")
    live.title = "Edited in memory"
    rows = {row["session_id"]: row for row in all_sessions()}
    assert rows["live1"]["title"] == "Edited in memory"


def test_a_save_never_rereads_other_session_files(session_dir):
    for sid in ("mem_a", "mem_b", "mem_c"):
        _saved(sid, title=f"Title {sid}", messages=_exchange(1, 1000.0))
    assert {row["session_id"] for row in all_sessions()} == {"mem_a", "mem_b", "mem_c"}
    for sid in ("mem_b", "mem_c"):
        (session_dir / f"{sid}.json").write_bytes(b"\x00garbage{{{ not json")

    changed = Session.load("mem_a")
    changed.title = "Renamed"
    changed.save()
    rows = {row["session_id"]: row for row in all_sessions()}

    assert set(rows) == {"mem_a", "mem_b", "mem_c"}
    assert rows["mem_a"]["title"] == "Renamed"
    assert rows["mem_b"]["title"] == "Title mem_b"
    assert rows["mem_c"]["message_count"] == 2


def test_all_sessions_does_not_touch_the_disk_once_the_index_is_loaded(session_dir):
    _saved("warm1", title="Warm one")
    _saved("warm2", title="Warm two")
    all_sessions()
    _wait_until_index_is_quiet(session_dir)
    for path in session_dir.glob("*.json"):
        path.unlink()
    assert list(session_dir.iterdir()) == []
    assert {row["session_id"] for row in all_sessions()} == {"warm1", "warm2"}


def test_a_corrupt_session_file_is_left_out_of_a_rebuilt_index(session_dir):
    _saved("good1", title="Good")
    (session_dir / "bad1.json").write_bytes(b"{ torn")
    (session_dir / "notobj.json").write_text("[1, 2]")
    session_index.close_current()
    (session_dir / "_index.json").unlink()
    assert {row["session_id"] for row in all_sessions()} == {"good1"}


# ── the index file ───────────────────────────────────────────────────────────────────────
def test_index_file_appears_with_the_first_save(session_dir):
    assert not (session_dir / "_index.json").exists()
    _saved("idx1", title="First")
    rows = _index_rows(session_dir)
    assert list(rows) == ["idx1"]
    assert rows["idx1"]["title"] == "First"
    assert rows["idx1"]["message_count"] == 1


def test_index_file_reflects_later_saves_after_the_background_writer_runs(session_dir):
    first = _saved("idx_a", title="Before")
    first.title = "After"
    first.messages = _exchange(1, 1000.0)
    first.save()
    _saved("idx_b", title="Second")

    def caught_up() -> bool:
        rows = _index_rows(session_dir)
        return (
            set(rows) == {"idx_a", "idx_b"}
            and rows["idx_a"]["title"] == "After"
            and rows["idx_a"]["message_count"] == 2
        )

    assert _poll(caught_up), _index_rows(session_dir)


def test_index_file_drops_a_deleted_session(session_dir):
    _saved("del_keep", title="Keep")
    _saved("del_gone", title="Gone")
    assert models.delete_session("del_gone") is True
    assert not (session_dir / "del_gone.json").exists()
    assert [row["session_id"] for row in all_sessions()] == ["del_keep"]
    assert _poll(lambda: set(_index_rows(session_dir)) == {"del_keep"})


def test_skip_index_save_leaves_the_index_file_alone_but_refreshes_the_row(session_dir):
    session = _saved("skip1", title="Indexed", messages=_exchange(1, 1000.0))
    assert _poll(lambda: _index_rows(session_dir)["skip1"]["message_count"] == 2)
    _wait_until_index_is_quiet(session_dir)
    index_path = session_dir / "_index.json"
    before = index_path.read_bytes()
    before_mtime = index_path.stat().st_mtime_ns

    session.messages = session.messages + _exchange(2, 2000.0)
    session.title = "Checkpointed"
    session.save(skip_index=True)
    time.sleep(0.6)

    assert _file(session_dir, "skip1")["title"] == "Checkpointed"
    assert len(_file(session_dir, "skip1")["messages"]) == 4
    assert index_path.read_bytes() == before
    assert index_path.stat().st_mtime_ns == before_mtime
    row = {row["session_id"]: row for row in index_rows()}["skip1"]
    assert (row["title"], row["message_count"]) == ("Checkpointed", 4)


def test_a_skip_index_save_is_picked_up_by_the_next_full_save(session_dir):
    session = _saved("skip2", title="One", messages=_exchange(1, 1000.0))
    session.messages = session.messages + _exchange(2, 2000.0)
    session.save(skip_index=True)
    session.title = "Two"
    session.save()
    row = {row["session_id"]: row for row in all_sessions()}["skip2"]
    assert (row["title"], row["message_count"]) == ("Two", 4)
    assert _poll(lambda: _index_rows(session_dir)["skip2"]["message_count"] == 4)


def test_a_reloaded_index_includes_a_checkpoint_newer_than_the_index_file(session_dir):
    session = _saved("skip3", title="Before restart", messages=_exchange(1, 1000.0))
    session_index.close_current()
    index_mtime = (session_dir / "_index.json").stat().st_mtime_ns
    session.messages = session.messages + _exchange(2, 2000.0)
    session.save(skip_index=True)
    assert (session_dir / "skip3.json").stat().st_mtime_ns >= index_mtime

    row = {row["session_id"]: row for row in all_sessions()}["skip3"]

    assert row["message_count"] == 4


# ── titles ───────────────────────────────────────────────────────────────────────────────
def test_title_from_takes_the_first_user_text_cut_to_64_characters():
    messages = [
        {"role": "system", "content": "You are helpful."},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "   "},
        {"role": "user", "content": "  " + "word " * 30},
        {"role": "user", "content": "later question"},
    ]
    title = title_from(messages)
    assert title == ("word " * 30)[:64]
    assert len(title) == 64


def test_title_from_reads_text_parts_and_skips_other_parts():
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": "data:"}},
                {"type": "text", "text": "What is"},
                {"type": "text", "text": "in this picture?"},
            ],
        }
    ]
    assert title_from(messages) == "What is in this picture?"


def test_title_from_falls_back_when_no_user_text():
    assert title_from([]) == "Untitled"
    assert title_from(None) == "Untitled"
    assert title_from([{"role": "assistant", "content": "hi"}], "Imported") == "Imported"
    assert title_from(["not a message", {"role": "user", "content": None}], "X") == "X"


# ── metadata-only loads ──────────────────────────────────────────────────────────────────
def test_metadata_only_load_has_metadata_and_the_indexed_message_count(session_dir):
    messages = _exchange(1, 1000.0) + _exchange(2, 2000.0) + [{"role": "user", "content": "q"}]
    _saved("meta1", title="Metadata", messages=messages, pinned=True, model="some/model")

    meta = get_session("meta1", metadata_only=True)

    assert meta.title == "Metadata"
    assert meta.pinned is True
    assert meta.model == "some/model"
    assert meta.messages == []
    assert meta.compact()["message_count"] == 5


def test_metadata_only_load_is_not_cached(session_dir):
    _saved("meta2", title="Metadata", messages=_exchange(1, 1000.0))
    meta = get_session("meta2", metadata_only=True)
    assert "meta2" not in models.SESSIONS
    full = get_session("meta2")
    assert full is not meta
    assert full.messages == _exchange(1, 1000.0)
    assert models.SESSIONS["meta2"] is full


def test_metadata_only_load_of_a_large_transcript_reads_the_head_only(session_dir):
    big = [{"role": "user", "content": "x" * 1000} for _ in range(200)]
    _saved("meta3", title="Large", messages=big)
    assert (session_dir / "meta3.json").stat().st_size > 65536
    meta = get_session("meta3", metadata_only=True)
    assert meta.title == "Large"
    assert meta.messages == []
    assert meta.compact()["message_count"] == 200


def test_metadata_only_session_refuses_to_save(session_dir):
    _saved("meta4", title="Do not overwrite", messages=_exchange(1, 1000.0))
    before = (session_dir / "meta4.json").read_bytes()
    meta = get_session("meta4", metadata_only=True)
    meta.title = "Would wipe the transcript"
    with pytest.raises(StoreError):
        meta.save()
    assert (session_dir / "meta4.json").read_bytes() == before


def test_metadata_only_load_of_an_unknown_session_raises_key_error(session_dir):
    with pytest.raises(KeyError):
        get_session("missing_meta", metadata_only=True)


def test_no_temp_files_are_left_after_saves(session_dir):
    for i in range(5):
        _saved(f"tmp{i}", title=f"T{i}")
        _saved(f"tmp{i}", title=f"T{i} again")
    session_index.close_current()
    leftovers = [name for name in os.listdir(session_dir) if ".tmp." in name]
    assert leftovers == []


def test_a_deleted_session_refuses_to_be_saved_again_by_a_late_writer(session_dir):
    session = _saved("late1", title="Doomed", messages=_exchange(1, 1000.0))
    assert models.delete_session("late1") is True
    session.title = "Resurrected"
    with pytest.raises(KeyError):
        session.save()
    assert not (session_dir / "late1.json").exists()
    assert "late1" not in {row["session_id"] for row in index_rows()}
    with pytest.raises(KeyError):
        get_session("late1")


def test_a_file_with_unusable_timestamps_is_listed_instead_of_breaking_the_sidebar(session_dir):
    _saved("good1", title="Good", messages=_exchange(1, 1000.0))
    (session_dir / "odd1.json").write_text(
        json.dumps(
            {
                "session_id": "odd1",
                "title": "Odd",
                "created_at": "yesterday",
                "updated_at": None,
                "messages": [{"role": "user", "content": "hi", "timestamp": "soon"}],
            }
        )
    )
    session_index.close_current()
    listed = {row["session_id"]: row for row in all_sessions()}
    assert set(listed) >= {"good1", "odd1"}
    assert isinstance(listed["odd1"]["updated_at"], float)
    assert isinstance(listed["odd1"]["last_message_at"], float)
