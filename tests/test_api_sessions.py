"""The session endpoints over real HTTP: replies, error statuses, and the files they leave."""

from __future__ import annotations

import http.client
import json
import re
import time
import uuid
from urllib.parse import unquote, urlencode

import pytest

from tests.conftest import TEST_BASE, TEST_PORT, TEST_ROOT, TEST_STATE_DIR, TEST_WORKSPACE
from tests.support import Reply, request

SESSIONS_DIR = TEST_STATE_DIR / "sessions"
SECRET = "sk-" + "A1b2C3d4E5" * 3
MISSING_SID = "nosuchsession0"
USAGE_TOTALS = ("input_tokens", "output_tokens", "total_tokens", "estimated_cost", "model")


# ── helpers ──────────────────────────────────────────────────────────────────────────────
def get(path: str, **query: object) -> Reply:
    return request(TEST_BASE, "GET", path + ("?" + urlencode(query) if query else ""))


def post(path: str, body: object = None, **kwargs) -> Reply:
    return request(TEST_BASE, "POST", path, body, **kwargs)


def conversation(*texts: str) -> list[dict]:
    """Alternating user/assistant messages with the given texts."""
    roles = ("user", "assistant")
    return [{"role": roles[i % 2], "content": text} for i, text in enumerate(texts)]


def import_session(created: list, messages: list, **fields: object) -> dict:
    reply = post("/api/session/import", {"messages": messages, **fields})
    assert reply.status == 200, reply.body
    session = reply.json["session"]
    created.append(session["session_id"])
    return session


def new_session(created: list, body: dict | None = None) -> dict:
    reply = post("/api/session/new", body or {})
    assert reply.status == 200, reply.body
    session = reply.json["session"]
    created.append(session["session_id"])
    return session


def session_file(sid: str):
    return SESSIONS_DIR / f"{sid}.json"


def on_disk(sid: str) -> dict:
    return json.loads(session_file(sid).read_bytes())


def saved_ids() -> set[str]:
    return {p.stem for p in SESSIONS_DIR.glob("*.json") if not p.name.startswith("_")}


def write_earlier_session(created: list, **fields: object) -> str:
    """A session file as an earlier server run would have left it (never loaded by this one)."""
    sid = "earlier_" + uuid.uuid4().hex[:10]
    now = time.time()
    data = {
        "session_id": sid,
        "title": "From an earlier run",
        "workspace": str(TEST_WORKSPACE),
        "model": "test/model",
        "created_at": now - 60,
        "updated_at": now - 30,
        "messages": conversation("first question", "first answer"),
        **fields,
    }
    session_file(sid).write_text(json.dumps(data, indent=2))
    created.append(sid)
    return sid


def sidebar_ids() -> list[str]:
    reply = get("/api/sessions")
    assert reply.status == 200
    return [row["session_id"] for row in reply.json["sessions"]]


def assert_error(reply: Reply, status: int, text: str | None = None) -> None:
    assert reply.status == status, (reply.status, reply.body)
    body = reply.json
    assert isinstance(body.get("error"), str) and body["error"]
    if text is not None:
        assert text in body["error"], body["error"]


# ── health ───────────────────────────────────────────────────────────────────────────────
def test_health_reports_ok_with_session_and_stream_counts():
    reply = get("/health")
    assert reply.status == 200
    body = reply.json
    assert body["status"] == "ok"
    assert isinstance(body["version"], str) and body["version"]
    assert isinstance(body["sessions"], int) and body["sessions"] >= 0
    assert body["active_streams"] == 0
    assert body["uptime_seconds"] >= 0


# ── new ──────────────────────────────────────────────────────────────────────────────────
def test_new_session_is_an_empty_untitled_draft_that_writes_no_file(cleanup_test_sessions):
    session = new_session(cleanup_test_sessions)
    sid = session["session_id"]
    assert re.fullmatch(r"[0-9a-f]{12}", sid)
    assert session["title"] == "Untitled"
    assert session["messages"] == []
    assert session["message_count"] == 0
    assert session["is_streaming"] is False
    assert session["workspace"] == str(TEST_WORKSPACE.resolve())
    assert not session_file(sid).exists()
    reply = get("/api/session", session_id=sid)
    assert reply.status == 200
    assert reply.json["session"]["messages"] == []
    assert not session_file(sid).exists()


def test_new_session_is_written_on_its_first_save(cleanup_test_sessions):
    sid = new_session(cleanup_test_sessions)["session_id"]
    assert post("/api/session/rename", {"session_id": sid, "title": "Kept"}).status == 200
    assert on_disk(sid)["title"] == "Kept"
    assert on_disk(sid)["messages"] == []


def test_new_session_accepts_a_request_without_a_body(cleanup_test_sessions):
    reply = post("/api/session/new")
    assert reply.status == 200, reply.body
    cleanup_test_sessions.append(reply.json["session"]["session_id"])
    assert reply.json["session"]["workspace"] == str(TEST_WORKSPACE.resolve())


def test_new_session_keeps_the_requested_model_and_profile(cleanup_test_sessions):
    session = new_session(cleanup_test_sessions, {"model": "test/other-model", "profile": "work"})
    assert session["model"] == "test/other-model"
    assert session["profile"] == "work"


def test_new_session_accepts_a_subdirectory_of_the_default_workspace(cleanup_test_sessions):
    sub = TEST_WORKSPACE / "project" / "src"
    sub.mkdir(parents=True, exist_ok=True)
    session = new_session(cleanup_test_sessions, {"workspace": str(sub)})
    assert session["workspace"] == str(sub.resolve())


def test_new_session_accepts_a_directory_under_the_home_directory(
    cleanup_test_sessions, live_server
):
    inside_home = live_server.home / "code" / "app"
    inside_home.mkdir(parents=True, exist_ok=True)
    session = new_session(cleanup_test_sessions, {"workspace": str(inside_home)})
    assert session["workspace"] == str(inside_home.resolve())


def test_new_session_refuses_a_workspace_that_does_not_exist():
    reply = post("/api/session/new", {"workspace": str(TEST_WORKSPACE / "no-such-dir")})
    assert_error(reply, 400, "does not exist")


def test_new_session_refuses_a_workspace_that_is_a_file():
    a_file = TEST_WORKSPACE / "notes.txt"
    a_file.write_text("not a directory")
    reply = post("/api/session/new", {"workspace": str(a_file)})
    assert_error(reply, 400, "not a directory")


def test_new_session_refuses_a_system_directory():
    assert_error(post("/api/session/new", {"workspace": "/etc"}), 400, "system")


def test_new_session_refuses_a_directory_outside_home_and_the_default_workspace():
    outside = TEST_ROOT / "elsewhere"
    outside.mkdir(exist_ok=True)
    assert_error(post("/api/session/new", {"workspace": str(outside)}), 400, "outside")


# ── read one session ─────────────────────────────────────────────────────────────────────
def test_get_session_returns_the_transcript_and_its_paging_fields(cleanup_test_sessions):
    messages = conversation("q1", "a1", "q2", "a2")
    sid = import_session(cleanup_test_sessions, messages, title="Read me")["session_id"]
    reply = get("/api/session", session_id=sid)
    assert reply.status == 200
    session = reply.json["session"]
    assert session["session_id"] == sid
    assert session["title"] == "Read me"
    assert session["messages"] == messages
    assert session["message_count"] == 4
    assert session["tool_calls"] == []
    assert session["pending_user_message"] is None
    assert session["pending_attachments"] == []
    assert session["context_length"] == 0
    assert session["threshold_tokens"] == 0
    assert session["last_prompt_tokens"] == 0
    assert session["_messages_offset"] == 0
    assert session["_messages_truncated"] is False


def test_get_session_with_messages_0_returns_metadata_without_the_transcript(
    cleanup_test_sessions,
):
    messages = conversation("q1", "a1", "q2", "a2")
    sid = import_session(cleanup_test_sessions, messages)["session_id"]
    reply = get("/api/session", session_id=sid, messages=0)
    assert reply.status == 200
    session = reply.json["session"]
    assert session["messages"] == []
    assert session["message_count"] == 4
    assert session["pending_attachments"] == []


def test_get_session_loads_a_session_saved_by_an_earlier_run(cleanup_test_sessions):
    sid = write_earlier_session(cleanup_test_sessions)
    reply = get("/api/session", session_id=sid)
    assert reply.status == 200
    assert reply.json["session"]["title"] == "From an earlier run"
    assert reply.json["session"]["messages"] == conversation("first question", "first answer")


def test_msg_limit_returns_the_last_n_messages_and_their_offset(cleanup_test_sessions):
    messages = conversation(*(f"m{i}" for i in range(10)))
    sid = import_session(cleanup_test_sessions, messages)["session_id"]
    session = get("/api/session", session_id=sid, msg_limit=3).json["session"]
    assert [m["content"] for m in session["messages"]] == ["m7", "m8", "m9"]
    assert session["_messages_offset"] == 7
    assert session["_messages_truncated"] is True
    assert session["message_count"] == 10


def test_msg_before_pages_backwards_from_an_index(cleanup_test_sessions):
    messages = conversation(*(f"m{i}" for i in range(10)))
    sid = import_session(cleanup_test_sessions, messages)["session_id"]
    page = get("/api/session", session_id=sid, msg_limit=3, msg_before=5).json["session"]
    assert [m["content"] for m in page["messages"]] == ["m2", "m3", "m4"]
    assert page["_messages_offset"] == 2
    assert page["_messages_truncated"] is True
    first = get("/api/session", session_id=sid, msg_limit=3, msg_before=2).json["session"]
    assert [m["content"] for m in first["messages"]] == ["m0", "m1"]
    assert first["_messages_offset"] == 0
    assert first["_messages_truncated"] is False


def test_msg_limit_beyond_the_transcript_returns_it_all_untruncated(cleanup_test_sessions):
    messages = conversation("only", "two")
    sid = import_session(cleanup_test_sessions, messages)["session_id"]
    session = get("/api/session", session_id=sid, msg_limit=50).json["session"]
    assert session["messages"] == messages
    assert session["_messages_offset"] == 0
    assert session["_messages_truncated"] is False


def test_get_session_without_an_id_is_400():
    assert_error(get("/api/session"), 400, "session_id is required")


def test_get_session_with_an_invalid_id_is_400():
    assert_error(get("/api/session", session_id="Not-An-Id"), 400, "Invalid session_id")


def test_get_session_with_an_unknown_id_is_404():
    assert_error(get("/api/session", session_id=MISSING_SID), 404, "Session not found")


@pytest.mark.parametrize(
    "query",
    [{"msg_limit": 0}, {"msg_limit": "ten"}, {"msg_before": -1}, {"messages": 2}],
    ids=["msg_limit-0", "msg_limit-text", "msg_before-negative", "messages-2"],
)
def test_get_session_refuses_bad_paging_parameters_with_400(cleanup_test_sessions, query):
    sid = import_session(cleanup_test_sessions, conversation("q", "a"))["session_id"]
    assert_error(get("/api/session", session_id=sid, **query), 400)


def test_secrets_are_masked_in_replies_but_kept_in_the_file(cleanup_test_sessions):
    messages = conversation(f"my key is {SECRET}", "noted")
    session = import_session(cleanup_test_sessions, messages, title=f"key {SECRET}")
    sid = session["session_id"]
    assert SECRET not in json.dumps(session)
    replies = [
        get("/api/session", session_id=sid),
        get("/api/sessions"),
        get("/api/sessions/search", q="key"),
        get("/api/sessions/search", q="my key"),
        get("/api/session/export", session_id=sid),
        get("/api/session/export", session_id=sid, format="md"),
        get("/api/session/status", session_id=sid),
    ]
    for reply in replies:
        assert reply.status == 200
        assert SECRET.encode() not in reply.body
    content_hit = next(r for r in replies[3].json["sessions"] if r["session_id"] == sid)
    assert content_hit["match_type"] == "content"
    assert "my key is sk-" in content_hit["snippet"]
    shown = replies[0].json["session"]
    assert shown["messages"][0]["content"].startswith("my key is sk-")
    assert shown["title"].startswith("key sk-")
    stored = on_disk(sid)
    assert stored["messages"][0]["content"] == f"my key is {SECRET}"
    assert stored["title"] == f"key {SECRET}"


# ── the sidebar list ─────────────────────────────────────────────────────────────────────
def test_sessions_list_puts_pinned_first_then_newest(cleanup_test_sessions):
    first = import_session(cleanup_test_sessions, conversation("first"))["session_id"]
    second = import_session(cleanup_test_sessions, conversation("second"))["session_id"]
    third = import_session(cleanup_test_sessions, conversation("third"))["session_id"]
    assert post("/api/session/pin", {"session_id": first}).status == 200
    ours = [sid for sid in sidebar_ids() if sid in {first, second, third}]
    assert ours == [first, third, second]
    assert sidebar_ids()[0] == first


def test_sessions_list_pages_with_limit_and_offset_and_reports_the_total(
    cleanup_test_sessions,
):
    for text in ("p1", "p2", "p3"):
        import_session(cleanup_test_sessions, conversation(text))
    everything = get("/api/sessions").json
    full = [row["session_id"] for row in everything["sessions"]]
    assert everything["total"] == len(full) >= 3
    page = get("/api/sessions", limit=2, offset=1).json
    assert [row["session_id"] for row in page["sessions"]] == full[1:3]
    assert page["total"] == len(full)
    assert page["limit"] == 2
    assert page["offset"] == 1
    assert isinstance(page["server_time"], float)
    assert re.fullmatch(r"[+-]\d{4}", page["server_tz"])


def test_sessions_list_hides_empty_untitled_drafts_and_shows_imports(cleanup_test_sessions):
    draft = new_session(cleanup_test_sessions)["session_id"]
    imported = import_session(cleanup_test_sessions, conversation("hello there"))
    rows = {r["session_id"]: r for r in get("/api/sessions").json["sessions"]}
    assert draft not in rows
    row = rows[imported["session_id"]]
    assert row["message_count"] == 1
    assert row["title"] == "hello there"


def test_sessions_list_refuses_a_zero_limit_with_400():
    assert_error(get("/api/sessions", limit=0), 400)


# ── search ───────────────────────────────────────────────────────────────────────────────
def test_search_matches_titles_case_insensitively(cleanup_test_sessions):
    token = "quokka" + uuid.uuid4().hex[:8]
    sid = import_session(cleanup_test_sessions, conversation("hi"), title=f"About {token}")[
        "session_id"
    ]
    reply = get("/api/sessions/search", q=f"  {token.upper()} ")
    assert reply.status == 200
    body = reply.json
    assert body["query"] == token
    assert [row["session_id"] for row in body["sessions"]] == [sid]
    assert body["sessions"][0]["match_type"] == "title"
    assert body["count"] == 1


def test_search_matches_message_text_and_returns_a_snippet(cleanup_test_sessions):
    token = "wombat" + uuid.uuid4().hex[:8]
    messages = conversation("plain start", f"the hidden {token} lives here")
    sid = import_session(cleanup_test_sessions, messages, title="Nothing in the title")[
        "session_id"
    ]
    body = get("/api/sessions/search", q=token).json
    assert [row["session_id"] for row in body["sessions"]] == [sid]
    assert body["sessions"][0]["match_type"] == "content"
    assert token in body["sessions"][0]["snippet"]


SNIPPET_MAX = 100
"""The longest snippet the sidebar gets: about two lines of it."""

LONG_TEXTS = {
    "far into ascii": ("word " * 600, "{token}", " and then " + "more " * 300),
    "after letters whose lower case is longer": (
        "İstanbul’da İİİ çay içtik. " * 60,
        "{token}",
        " sonra eve döndük. " * 30,
    ),
    "among emoji and cjk": ("🙂 これは長い文章です。" * 80, "{token}", " 终わり 🎉" * 40),
    "non-ascii match": ("Grüße aus Köln, " * 80, "Überraschung{token}", ", sagte sie. " * 20),
}


@pytest.mark.parametrize("parts", LONG_TEXTS.values(), ids=LONG_TEXTS.keys())
def test_search_snippet_holds_the_match_with_context_on_both_sides(cleanup_test_sessions, parts):
    token = "kiwi" + uuid.uuid4().hex[:8]
    before, match, after = parts
    match = match.format(token=token)
    text = before + match + after
    import_session(cleanup_test_sessions, conversation("start", text), title="Plain")

    rows = get("/api/sessions/search", q=match.upper()).json["sessions"]
    assert [row["match_type"] for row in rows] == ["content"]
    snippet = rows[0]["snippet"]
    assert match in snippet, snippet
    assert snippet.startswith("…") and snippet.endswith("…"), snippet
    head, tail = (side.strip() for side in snippet[1:-1].split(match))
    assert len(head) >= 8 and len(tail) >= 8, snippet
    assert head in " ".join(before.split()) and tail in " ".join(after.split()), snippet
    assert len(snippet) <= SNIPPET_MAX, snippet


def test_search_snippet_of_a_short_message_is_the_whole_message(cleanup_test_sessions):
    token = "kiwi" + uuid.uuid4().hex[:8]
    messages = conversation("start", f"a  short\nnote on {token} here")
    import_session(cleanup_test_sessions, messages, title="Plain")
    rows = get("/api/sessions/search", q=token).json["sessions"]
    assert rows[0]["snippet"] == f"a short note on {token} here"


def test_search_with_content_0_matches_titles_only(cleanup_test_sessions):
    token = "numbat" + uuid.uuid4().hex[:8]
    import_session(cleanup_test_sessions, conversation(f"text with {token}"), title="Plain")
    body = get("/api/sessions/search", q=token, content=0).json
    assert body["sessions"] == []
    assert body["count"] == 0


def test_search_depth_limits_the_messages_searched(cleanup_test_sessions):
    token = "dingo" + uuid.uuid4().hex[:8]
    messages = conversation("one", "two", f"three {token}")
    sid = import_session(cleanup_test_sessions, messages, title="Plain")["session_id"]
    assert get("/api/sessions/search", q=token, depth=2).json["sessions"] == []
    deep = get("/api/sessions/search", q=token, depth=3).json["sessions"]
    assert [row["session_id"] for row in deep] == [sid]


def test_search_without_a_match_returns_no_sessions(cleanup_test_sessions):
    import_session(cleanup_test_sessions, conversation("something ordinary"))
    body = get("/api/sessions/search", q="zz-" + uuid.uuid4().hex).json
    assert body["sessions"] == []
    assert body["count"] == 0


def test_search_with_an_empty_query_returns_every_session(cleanup_test_sessions):
    import_session(cleanup_test_sessions, conversation("alpha"))
    import_session(cleanup_test_sessions, conversation("beta"))
    body = get("/api/sessions/search", q="").json
    assert body["query"] == ""
    assert sorted(row["session_id"] for row in body["sessions"]) == sorted(sidebar_ids())
    assert body["count"] == len(body["sessions"]) >= 2


# ── import ───────────────────────────────────────────────────────────────────────────────
def test_import_stores_the_transcript_under_a_fresh_id(cleanup_test_sessions):
    incoming = "chosen_by_client1"
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "hello"}]},
        {"role": "assistant", "content": "hi", "reasoning": "greeting"},
        {"role": "tool", "content": None, "tool_call_id": "t1"},
    ]
    reply = post(
        "/api/session/import",
        {
            "session_id": incoming,
            "title": "Imported chat",
            "messages": messages,
            "model": "test/imported-model",
            "pinned": True,
        },
    )
    assert reply.status == 200, reply.body
    assert reply.json["ok"] is True
    session = reply.json["session"]
    sid = session["session_id"]
    cleanup_test_sessions.append(sid)
    assert sid != incoming
    assert re.fullmatch(r"[0-9a-z_]{1,64}", sid)
    assert session["messages"] == messages
    assert session["message_count"] == 4
    assert not session_file(incoming).exists()
    stored = on_disk(sid)
    assert stored["session_id"] == sid
    assert stored["title"] == "Imported chat"
    assert stored["messages"] == messages
    assert stored["model"] == "test/imported-model"
    assert stored["pinned"] is True
    assert stored["workspace"] == str(TEST_WORKSPACE.resolve())


def test_import_title_defaults_to_the_first_user_message(cleanup_test_sessions):
    messages = [{"role": "assistant", "content": "welcome"}, *conversation("What is 2+2?", "4")]
    session = import_session(cleanup_test_sessions, messages)
    assert session["title"] == "What is 2+2?"
    assert on_disk(session["session_id"])["title"] == "What is 2+2?"


def test_import_title_defaults_to_imported_session_without_user_text(cleanup_test_sessions):
    session = import_session(cleanup_test_sessions, [{"role": "assistant", "content": "hi"}])
    assert session["title"] == "Imported session"
    assert on_disk(session["session_id"])["title"] == "Imported session"


def test_import_accepts_exactly_20000_messages(cleanup_test_sessions):
    messages = conversation(*("m" for _ in range(20_000)))
    session = import_session(cleanup_test_sessions, messages)
    assert session["message_count"] == 20_000
    assert len(on_disk(session["session_id"])["messages"]) == 20_000


def test_import_keeps_moderately_nested_message_data(cleanup_test_sessions):
    nested = _nested(20)
    messages = [{"role": "user", "content": "x", "meta": nested}]
    session = import_session(cleanup_test_sessions, messages)
    assert on_disk(session["session_id"])["messages"][0]["meta"] == nested


def _nested(depth: int) -> object:
    value: object = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def _raw(value: object) -> bytes:
    return json.dumps(value).encode()


IMPORT_REFUSALS = [
    ("malformed-json", b'{"messages": [{"role": "user",', 400),
    ("body-is-a-list", _raw([{"role": "user", "content": "hi"}]), 400),
    ("body-is-a-string", _raw("messages"), 400),
    ("body-is-empty", b"", 400),
    ("messages-missing", _raw({"title": "no messages"}), 400),
    ("messages-not-a-list", _raw({"messages": "hello"}), 400),
    ("message-not-an-object", _raw({"messages": ["hello"]}), 400),
    ("role-missing", _raw({"messages": [{"content": "hi"}]}), 400),
    ("role-unknown", _raw({"messages": [{"role": "wizard", "content": "hi"}]}), 400),
    ("content-a-number", _raw({"messages": [{"role": "user", "content": 5}]}), 400),
    ("title-not-a-string", _raw({"title": [1], "messages": []}), 400),
    (
        "nested-70-levels",
        _raw({"messages": [{"role": "user", "content": "x", "meta": _nested(70)}]}),
        400,
    ),
    (
        "nested-5000-levels",
        b'{"messages": [{"role": "user", "content": "x", "meta": '
        + b"[" * 5000
        + b"]" * 5000
        + b"}]}",
        400,
    ),
    (
        "integer-over-64-bits",
        _raw({"messages": [{"role": "user", "content": "x", "n": 2**64}]}),
        400,
    ),
    (
        "tool-calls-integer-over-64-bits",
        _raw({"messages": [], "tool_calls": [{"n": -(2**70)}]}),
        400,
    ),
    (
        "workspace-outside",
        _raw({"messages": [], "workspace": str(TEST_ROOT)}),
        400,
    ),
    ("20001-messages", _raw({"messages": conversation(*("m" for _ in range(20_001)))}), 413),
]


@pytest.mark.parametrize(
    ("data", "status"),
    [case[1:] for case in IMPORT_REFUSALS],
    ids=[case[0] for case in IMPORT_REFUSALS],
)
def test_import_refuses_bad_input_and_writes_nothing(data, status):
    before = saved_ids()
    reply = post("/api/session/import", data=data)
    assert_error(reply, status)
    assert saved_ids() == before


def test_import_error_names_what_is_wrong():
    assert_error(post("/api/session/import", {"title": "x"}), 400, "messages")
    bad_role = {"messages": [{"role": "wizard", "content": "hi"}]}
    assert_error(post("/api/session/import", bad_role), 400, "role")
    deep = {"messages": [{"role": "user", "content": "x", "meta": _nested(70)}]}
    assert_error(post("/api/session/import", deep), 400, "64")
    many = {"messages": conversation(*("m" for _ in range(20_001)))}
    assert_error(post("/api/session/import", many), 413, "20000")


def test_import_with_a_declared_body_over_20_mb_is_413_before_reading_it():
    before = saved_ids()
    conn = http.client.HTTPConnection("127.0.0.1", TEST_PORT, timeout=10)
    try:
        conn.putrequest("POST", "/api/session/import")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(20 * 1024 * 1024 + 1))
        conn.endheaders()
        response = conn.getresponse()
        status, body = response.status, response.read()
    finally:
        conn.close()
    assert status == 413
    assert "error" in json.loads(body)
    assert saved_ids() == before


# ── export ───────────────────────────────────────────────────────────────────────────────
def test_export_defaults_to_a_json_attachment_of_the_stored_session(cleanup_test_sessions):
    messages = conversation("export me", "sure")
    sid = import_session(cleanup_test_sessions, messages, title="To export")["session_id"]
    reply = get("/api/session/export", session_id=sid)
    assert reply.status == 200
    assert reply.headers["content-disposition"] == 'attachment; filename="To export.json"'
    assert reply.headers["content-type"].startswith("application/json")
    exported = reply.json
    assert exported["session_id"] == sid
    assert exported["title"] == "To export"
    assert exported["messages"] == messages
    assert exported == on_disk(sid)


def download_name(reply: Reply) -> tuple[str, str]:
    """The file name a browser saves `reply` under (RFC 6266: `filename*` wins over
    `filename`), and the plain `filename` for clients that know only ASCII."""
    header = reply.headers["content-disposition"]
    assert header.startswith("attachment; "), header
    plain = re.search(r'filename="([^"\\]*)"', header)
    assert plain and plain[1].isascii(), header
    extended = re.search(r"filename\*=UTF-8''([^;]*)", header)
    if extended is None:
        return plain[1], plain[1]
    assert re.fullmatch(r"[A-Za-z0-9!#$&+.^_`|~%-]+", extended[1]), header  # RFC 5987 attr-chars
    return unquote(extended[1]), plain[1]


EXPORT_NAMES = {
    "plain": ("Trip to Lisbon", "Trip to Lisbon", "Trip to Lisbon"),
    "path": ("../../etc/passwd", "etc passwd", "etc passwd"),
    "backslashes and quotes": ('C:\\temp\\"notes" <1>?', "C temp notes 1", "C temp notes 1"),
    "control characters": ("tab\x00null\x7fdel\u202eend", "tab null del end", "tab null del end"),
    "emoji": ("Trip 🌍 to Lisbon", "Trip 🌍 to Lisbon", "Trip to Lisbon"),
    "accents": ("Café Zürich", "Café Zürich", "Cafe Zurich"),
    "reserved on windows": ("con", "con_", "con_"),
    "dots": ("...hidden.", "hidden", "hidden"),
}


@pytest.mark.parametrize("fmt", ["json", "md"])
@pytest.mark.parametrize("names", EXPORT_NAMES.values(), ids=EXPORT_NAMES.keys())
def test_export_is_named_after_the_title_made_safe_for_file_systems(
    cleanup_test_sessions, names, fmt
):
    title, saved, plain = names
    sid = import_session(cleanup_test_sessions, conversation("hi"), title=title)["session_id"]
    reply = get("/api/session/export", session_id=sid, format=fmt)
    assert reply.status == 200
    assert download_name(reply) == (f"{saved}.{fmt}", f"{plain}.{fmt}")


def test_export_name_is_cut_to_a_length_every_file_system_takes(cleanup_test_sessions):
    title = "Ünïcödé " * 20
    sid = import_session(cleanup_test_sessions, conversation("hi"), title=title)["session_id"]
    saved, plain = download_name(get("/api/session/export", session_id=sid))
    stem = saved.removesuffix(".json")
    assert 20 < len(stem) <= 100 and len(saved.encode()) <= 255
    assert title.startswith(stem) and stem == stem.strip()
    assert plain.endswith(".json") and len(plain) <= 105


def test_export_of_an_untitled_or_unnameable_session_is_named_by_its_id(cleanup_test_sessions):
    untitled = new_session(cleanup_test_sessions)["session_id"]
    assert download_name(get("/api/session/export", session_id=untitled)) == (
        f"hermes-{untitled}.json",
        f"hermes-{untitled}.json",
    )
    dots = import_session(cleanup_test_sessions, conversation("hi"), title="/ . / ..")
    reply = get("/api/session/export", session_id=dots["session_id"], format="md")
    name = f"hermes-{dots['session_id']}.md"
    assert download_name(reply) == (name, name)
    chinese = import_session(cleanup_test_sessions, conversation("hi"), title="旅行计划")
    reply = get("/api/session/export", session_id=chinese["session_id"])
    assert download_name(reply) == ("旅行计划.json", f"hermes-{chinese['session_id']}.json")


def test_export_json_can_be_imported_again(cleanup_test_sessions):
    messages = conversation("round", "trip")
    sid = import_session(cleanup_test_sessions, messages, title="Round trip")["session_id"]
    exported = get("/api/session/export", session_id=sid).json
    copy = import_session(
        cleanup_test_sessions,
        exported["messages"],
        **{k: v for k, v in exported.items() if k != "messages"},
    )
    assert copy["session_id"] != sid
    assert copy["title"] == "Round trip"
    assert on_disk(copy["session_id"])["messages"] == messages


def test_export_as_markdown_has_a_heading_per_role(cleanup_test_sessions):
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "List the files"},
        {"role": "assistant", "content": "Running ls"},
        {"role": "tool", "content": "a.txt\nb.txt"},
        {"role": "assistant", "content": "Two files."},
    ]
    sid = import_session(cleanup_test_sessions, messages, title="Markdown export")["session_id"]
    reply = get("/api/session/export", session_id=sid, format="md")
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/markdown")
    assert reply.headers["content-disposition"] == 'attachment; filename="Markdown export.md"'
    text = reply.body.decode()
    lines = text.splitlines()
    assert lines[0] == "# Markdown export"
    headings = [line for line in lines if line.startswith("##")]
    assert headings == ["## System", "## User", "## Assistant", "### Tool", "## Assistant"]
    for message in messages:
        for line in message["content"].splitlines():
            assert line in lines


def test_export_refuses_an_unknown_format_with_400(cleanup_test_sessions):
    sid = import_session(cleanup_test_sessions, conversation("x"))["session_id"]
    assert_error(get("/api/session/export", session_id=sid, format="pdf"), 400)


def test_export_of_an_unknown_session_is_404():
    assert_error(get("/api/session/export", session_id=MISSING_SID), 404, "Session not found")


def test_export_without_an_id_is_400():
    assert_error(get("/api/session/export"), 400)


# ── rename, delete, pin, archive, move, clear ────────────────────────────────────────────
def test_rename_stores_the_title_with_whitespace_collapsed_and_cut_to_80(cleanup_test_sessions):
    sid = import_session(cleanup_test_sessions, conversation("x"), title="Old")["session_id"]
    title = "  New \t  name " + "y" * 100
    reply = post("/api/session/rename", {"session_id": sid, "title": title})
    assert reply.status == 200
    expected = ("New name " + "y" * 100)[:80]
    assert reply.json["ok"] is True
    assert reply.json["session"]["title"] == expected
    assert on_disk(sid)["title"] == expected
    assert get("/api/session", session_id=sid).json["session"]["title"] == expected


def test_rename_refuses_an_empty_title_and_keeps_the_old_one(cleanup_test_sessions):
    sid = import_session(cleanup_test_sessions, conversation("x"), title="Keep me")["session_id"]
    assert_error(post("/api/session/rename", {"session_id": sid, "title": "   "}), 400)
    assert on_disk(sid)["title"] == "Keep me"


def test_rename_without_a_title_is_400(cleanup_test_sessions):
    sid = import_session(cleanup_test_sessions, conversation("x"))["session_id"]
    assert_error(post("/api/session/rename", {"session_id": sid}), 400, "title")


def test_delete_removes_the_file_and_is_idempotent(cleanup_test_sessions):
    sid = import_session(cleanup_test_sessions, conversation("bye"))["session_id"]
    assert session_file(sid).exists()
    first = post("/api/session/delete", {"session_id": sid})
    assert first.status == 200
    assert first.json == {"ok": True}
    assert not session_file(sid).exists()
    assert sid not in sidebar_ids()
    assert_error(get("/api/session", session_id=sid), 404)
    again = post("/api/session/delete", {"session_id": sid})
    assert again.status == 200
    assert again.json == {"ok": True}


def test_delete_of_an_unknown_session_is_ok():
    reply = post("/api/session/delete", {"session_id": MISSING_SID})
    assert reply.status == 200
    assert reply.json == {"ok": True}


def test_delete_of_an_unsaved_draft_forgets_it(cleanup_test_sessions):
    sid = new_session(cleanup_test_sessions)["session_id"]
    assert post("/api/session/delete", {"session_id": sid}).json == {"ok": True}
    assert_error(get("/api/session", session_id=sid), 404)


def test_pin_sets_and_clears_pinned_in_the_file(cleanup_test_sessions):
    sid = import_session(cleanup_test_sessions, conversation("x"))["session_id"]
    reply = post("/api/session/pin", {"session_id": sid})
    assert reply.status == 200
    assert reply.json["ok"] is True
    assert reply.json["session"]["pinned"] is True
    assert on_disk(sid)["pinned"] is True
    reply = post("/api/session/pin", {"session_id": sid, "pinned": False})
    assert reply.json["session"]["pinned"] is False
    assert on_disk(sid)["pinned"] is False


def test_archive_sets_and_clears_archived_in_the_file(cleanup_test_sessions):
    sid = import_session(cleanup_test_sessions, conversation("x"))["session_id"]
    reply = post("/api/session/archive", {"session_id": sid})
    assert reply.status == 200
    assert reply.json["ok"] is True
    assert reply.json["session"]["archived"] is True
    assert on_disk(sid)["archived"] is True
    reply = post("/api/session/archive", {"session_id": sid, "archived": False})
    assert reply.json["session"]["archived"] is False
    assert on_disk(sid)["archived"] is False


@pytest.fixture
def project():
    reply = post("/api/projects/create", {"name": "Move target"})
    assert reply.status == 200
    project = reply.json["project"]
    yield project
    post("/api/projects/delete", {"project_id": project["project_id"]})


def test_move_assigns_and_unassigns_a_project_in_the_file(cleanup_test_sessions, project):
    sid = import_session(cleanup_test_sessions, conversation("x"))["session_id"]
    pid = project["project_id"]
    reply = post("/api/session/move", {"session_id": sid, "project_id": pid})
    assert reply.status == 200
    assert reply.json["ok"] is True
    assert reply.json["session"]["project_id"] == pid
    assert on_disk(sid)["project_id"] == pid
    reply = post("/api/session/move", {"session_id": sid, "project_id": None})
    assert reply.json["session"]["project_id"] is None
    assert on_disk(sid)["project_id"] is None


def test_move_to_an_unknown_project_is_404_and_changes_nothing(cleanup_test_sessions, project):
    sid = import_session(cleanup_test_sessions, conversation("x"))["session_id"]
    post("/api/session/move", {"session_id": sid, "project_id": project["project_id"]})
    before = on_disk(sid)
    reply = post("/api/session/move", {"session_id": sid, "project_id": "nosuchproject"})
    assert_error(reply, 404, "Project not found")
    assert on_disk(sid) == before


def test_clear_empties_the_transcript_and_resets_the_title(cleanup_test_sessions):
    sid = import_session(cleanup_test_sessions, conversation("a", "b", "c"), title="Busy")[
        "session_id"
    ]
    reply = post("/api/session/clear", {"session_id": sid})
    assert reply.status == 200
    assert reply.json["ok"] is True
    assert reply.json["session"]["message_count"] == 0
    assert reply.json["session"]["title"] == "Untitled"
    stored = on_disk(sid)
    assert stored["messages"] == []
    assert stored["tool_calls"] == []
    assert stored["context_messages"] == []
    assert stored["title"] == "Untitled"
    assert sid not in sidebar_ids()


# ── truncate ─────────────────────────────────────────────────────────────────────────────
def test_truncate_keeps_the_first_n_messages_in_the_file(cleanup_test_sessions):
    messages = conversation("q1", "a1", "q2", "a2")
    sid = import_session(cleanup_test_sessions, messages)["session_id"]
    reply = post("/api/session/truncate", {"session_id": sid, "keep_count": 2})
    assert reply.status == 200
    assert reply.json["ok"] is True
    assert reply.json["session"]["messages"] == messages[:2]
    assert reply.json["session"]["message_count"] == 2
    assert on_disk(sid)["messages"] == messages[:2]


def test_truncate_to_zero_keeps_nothing(cleanup_test_sessions):
    sid = import_session(cleanup_test_sessions, conversation("q1", "a1"))["session_id"]
    reply = post("/api/session/truncate", {"session_id": sid, "keep_count": 0})
    assert reply.status == 200
    assert on_disk(sid)["messages"] == []


@pytest.mark.parametrize(
    "keep_count",
    [-1, "two", 1.5, None, [1]],
    ids=["negative", "text", "fraction", "null", "list"],
)
def test_truncate_refuses_a_keep_count_that_is_not_a_non_negative_int(
    cleanup_test_sessions, keep_count
):
    messages = conversation("q1", "a1", "q2", "a2")
    sid = import_session(cleanup_test_sessions, messages)["session_id"]
    reply = post("/api/session/truncate", {"session_id": sid, "keep_count": keep_count})
    assert_error(reply, 400)
    assert on_disk(sid)["messages"] == messages


def test_truncate_without_keep_count_is_400(cleanup_test_sessions):
    sid = import_session(cleanup_test_sessions, conversation("q1"))["session_id"]
    assert_error(post("/api/session/truncate", {"session_id": sid}), 400, "keep_count")


# ── retry and undo ───────────────────────────────────────────────────────────────────────
def test_retry_drops_last_exchange_and_returns_its_text(cleanup_test_sessions):
    messages = [
        *conversation("first question", "first answer", "second question", "calling a tool"),
        {"role": "tool", "content": "tool output"},
    ]
    sid = import_session(cleanup_test_sessions, messages)["session_id"]
    reply = post("/api/session/retry", {"session_id": sid})
    assert reply.status == 200
    assert reply.json == {"ok": True, "last_user_text": "second question", "removed_count": 3}
    assert on_disk(sid)["messages"] == messages[:2]
    assert get("/api/session", session_id=sid).json["session"]["messages"] == messages[:2]


def test_retry_returns_the_text_parts_of_a_multipart_message(cleanup_test_sessions):
    parts = [
        {"type": "text", "text": "look at"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "text", "text": "this picture"},
    ]
    sid = import_session(cleanup_test_sessions, [{"role": "user", "content": parts}])["session_id"]
    reply = post("/api/session/retry", {"session_id": sid})
    assert reply.json["last_user_text"] == "look at this picture"
    assert reply.json["removed_count"] == 1
    assert on_disk(sid)["messages"] == []


def test_retry_with_no_user_message_left_is_409_and_changes_nothing(cleanup_test_sessions):
    messages = [{"role": "assistant", "content": "hello, how can I help?"}]
    sid = import_session(cleanup_test_sessions, messages)["session_id"]
    before = on_disk(sid)
    reply = post("/api/session/retry", {"session_id": sid})
    assert reply.status == 409
    assert reply.json == {"error": "No previous message to retry."}
    assert on_disk(sid) == before


def test_undo_drops_last_exchange_and_previews_its_text(cleanup_test_sessions):
    long_question = "Please explain in detail how the tide tables are computed"
    messages = conversation("hi", "hello", long_question, "It is complicated")
    sid = import_session(cleanup_test_sessions, messages)["session_id"]
    reply = post("/api/session/undo", {"session_id": sid})
    assert reply.status == 200
    assert reply.json == {
        "ok": True,
        "removed_count": 2,
        "removed_preview": long_question[:40] + "...",
    }
    assert on_disk(sid)["messages"] == messages[:2]


def test_undo_until_nothing_is_left_then_409(cleanup_test_sessions):
    sid = import_session(cleanup_test_sessions, conversation("short", "reply"))["session_id"]
    reply = post("/api/session/undo", {"session_id": sid})
    assert reply.json == {"ok": True, "removed_count": 2, "removed_preview": "short"}
    assert on_disk(sid)["messages"] == []
    reply = post("/api/session/undo", {"session_id": sid})
    assert reply.status == 409
    assert reply.json == {"error": "Nothing to undo."}
    assert on_disk(sid)["messages"] == []


# ── unknown and missing ids on every edit ────────────────────────────────────────────────
EDITS = {
    "/api/session/rename": {"title": "t"},
    "/api/session/pin": {"pinned": True},
    "/api/session/archive": {"archived": True},
    "/api/session/move": {"project_id": None},
    "/api/session/clear": {},
    "/api/session/truncate": {"keep_count": 1},
    "/api/session/retry": {},
    "/api/session/undo": {},
}


@pytest.mark.parametrize("path", sorted(EDITS))
def test_edit_of_an_unknown_session_is_404_and_writes_nothing(path):
    reply = post(path, {"session_id": MISSING_SID, **EDITS[path]})
    assert_error(reply, 404, "Session not found")
    assert not session_file(MISSING_SID).exists()


@pytest.mark.parametrize("path", [*sorted(EDITS), "/api/session/delete"])
def test_edit_without_a_session_id_is_400(path):
    reply = post(path, dict(EDITS.get(path, {})))
    assert_error(reply, 400, "session_id")


# ── status and usage ─────────────────────────────────────────────────────────────────────
def test_status_summarises_the_session(cleanup_test_sessions):
    sid = write_earlier_session(
        cleanup_test_sessions, input_tokens=120, output_tokens=30, estimated_cost=0.0042
    )
    reply = get("/api/session/status", session_id=sid)
    assert reply.status == 200
    stored = on_disk(sid)
    assert reply.json == {
        "session_id": sid,
        "title": "From an earlier run",
        "model": "test/model",
        "workspace": str(TEST_WORKSPACE),
        "personality": None,
        "message_count": 2,
        "created_at": stored["created_at"],
        "updated_at": stored["updated_at"],
        "agent_running": False,
        "input_tokens": 120,
        "output_tokens": 30,
        "total_tokens": 150,
        "estimated_cost": 0.0042,
    }


def test_usage_reports_token_totals_and_model(cleanup_test_sessions):
    sid = write_earlier_session(
        cleanup_test_sessions, input_tokens=1000, output_tokens=234, estimated_cost=0.5
    )
    reply = get("/api/session/usage", session_id=sid)
    assert reply.status == 200
    assert {key: reply.json[key] for key in USAGE_TOTALS} == {
        "input_tokens": 1000,
        "output_tokens": 234,
        "total_tokens": 1234,
        "estimated_cost": 0.5,
        "model": "test/model",
    }


def test_usage_of_an_imported_session_starts_at_zero(cleanup_test_sessions):
    sid = import_session(cleanup_test_sessions, conversation("x"), model="test/m")["session_id"]
    reply = get("/api/session/usage", session_id=sid)
    assert {key: reply.json[key] for key in USAGE_TOTALS} == {
        "input_tokens": 0,
        "output_tokens": 0,
        "total_tokens": 0,
        "estimated_cost": None,
        "model": "test/m",
    }


def test_usage_estimates_how_full_the_context_is(cleanup_test_sessions):
    settings = get("/api/settings").json
    short = import_session(cleanup_test_sessions, conversation("hi", "hello"))["session_id"]
    long = import_session(cleanup_test_sessions, conversation("x" * 40_000, "ok"))["session_id"]
    small = get("/api/session/usage", session_id=short).json
    large = get("/api/session/usage", session_id=long).json

    assert small["context_length"] == large["context_length"] == settings["context_length"]
    threshold = int(settings["context_length"] * settings["compression_threshold"])
    assert small["threshold_tokens"] == large["threshold_tokens"] == threshold
    assert 0 < small["context_tokens"] < large["context_tokens"]
    assert large["context_tokens"] - small["context_tokens"] >= 40_000 // 4 - 10


def test_usage_context_window_is_the_sessions_own_when_it_has_one(cleanup_test_sessions):
    sid = write_earlier_session(cleanup_test_sessions, context_length=32_000)
    reply = get("/api/session/usage", session_id=sid).json
    assert reply["context_length"] == 32_000
    assert reply["threshold_tokens"] == int(
        32_000 * get("/api/settings").json["compression_threshold"]
    )


@pytest.mark.parametrize("path", ["/api/session/status", "/api/session/usage"])
def test_status_and_usage_without_an_id_are_400(path):
    reply = get(path)
    assert reply.status == 400
    assert reply.json == {"error": "Missing session_id"}


@pytest.mark.parametrize("path", ["/api/session/status", "/api/session/usage"])
def test_status_and_usage_of_an_unknown_session_are_404(path):
    reply = get(path, session_id=MISSING_SID)
    assert reply.status == 404
    assert reply.json == {"error": "Session not found"}
