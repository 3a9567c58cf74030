"""`POST /api/session/branch`: a new conversation from the first messages of another, which
it never changes, against the live test server."""

from __future__ import annotations

import json

import pytest

from tests.conftest import TEST_BASE, TEST_STATE_DIR, TEST_WORKSPACE
from tests.support import request

SESSIONS_DIR = TEST_STATE_DIR / "sessions"


def post(path: str, body: object) -> object:
    return request(TEST_BASE, "POST", path, body)


def imported(created: list, *texts: str, **fields: object) -> dict:
    roles = ("user", "assistant")
    messages = [{"role": roles[i % 2], "content": text} for i, text in enumerate(texts)]
    reply = post("/api/session/import", {"messages": messages, **fields})
    assert reply.status == 200, reply.body
    created.append(reply.json["session"]["session_id"])
    return reply.json["session"]


def branched(created: list, session_id: str, keep_count: int) -> dict:
    reply = post("/api/session/branch", {"session_id": session_id, "keep_count": keep_count})
    assert reply.status == 200, reply.body
    created.append(reply.json["session"]["session_id"])
    return reply.json["session"]


def on_disk(sid: str) -> dict:
    return json.loads((SESSIONS_DIR / f"{sid}.json").read_bytes())


def test_a_branch_is_a_new_conversation_with_the_first_messages_and_the_source_is_untouched(
    cleanup_test_sessions,
):
    project = post("/api/projects/create", {"name": "Trips"}).json["project"]["project_id"]
    source = imported(
        cleanup_test_sessions, "Plan Lisbon", "Day one: Alfama.", "And Porto?", "Take the train.",
        title="Lisbon plans", model="test/model", workspace=str(TEST_WORKSPACE),
    )  # fmt: skip
    post("/api/session/move", {"session_id": source["session_id"], "project_id": project})
    before = on_disk(source["session_id"])

    branch = branched(cleanup_test_sessions, source["session_id"], 2)

    assert branch["session_id"] != source["session_id"]
    assert [m["content"] for m in branch["messages"]] == ["Plan Lisbon", "Day one: Alfama."]
    assert branch["title"] == "Lisbon plans (branch)"
    assert (branch["model"], branch["workspace"]) == ("test/model", str(TEST_WORKSPACE))
    assert branch["project_id"] == project
    assert on_disk(branch["session_id"])["messages"] == branch["messages"], "saved at once"
    assert on_disk(source["session_id"]) == before
    listed = request(TEST_BASE, "GET", "/api/sessions").json["sessions"]
    assert branch["session_id"] in {row["session_id"] for row in listed}

    post("/api/session/truncate", {"session_id": branch["session_id"], "keep_count": 1})
    assert on_disk(source["session_id"])["messages"] == before["messages"]


def test_a_branch_of_the_whole_conversation_copies_every_message(cleanup_test_sessions):
    source = imported(cleanup_test_sessions, "a", "b", "c")
    branch = branched(cleanup_test_sessions, source["session_id"], 3)
    assert [m["content"] for m in branch["messages"]] == ["a", "b", "c"]


def test_a_long_title_keeps_its_branch_mark_within_the_title_limit(cleanup_test_sessions):
    source = imported(cleanup_test_sessions, "q", "a", title="t" * 400)
    branch = branched(cleanup_test_sessions, source["session_id"], 1)
    assert branch["title"].endswith(" (branch)") and len(branch["title"]) <= 200


@pytest.mark.parametrize("keep_count", [3, 10**9])
def test_a_count_past_the_end_takes_the_whole_conversation(cleanup_test_sessions, keep_count):
    source = imported(cleanup_test_sessions, "q", "a")
    branch = branched(cleanup_test_sessions, source["session_id"], keep_count)
    assert [m["content"] for m in branch["messages"]] == ["q", "a"]


def test_a_conversation_with_no_messages_cannot_be_branched_and_nothing_is_written(
    cleanup_test_sessions,
):
    sid = post("/api/session/new", {}).json["session"]["session_id"]
    cleanup_test_sessions.append(sid)
    before = set(SESSIONS_DIR.glob("*.json"))
    reply = post("/api/session/branch", {"session_id": sid, "keep_count": 1})
    assert reply.status == 409, reply.body
    assert reply.json["error"].startswith("Nothing to branch")
    assert set(SESSIONS_DIR.glob("*.json")) == before


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"session_id": "0123456789ab", "keep_count": 1}, 404),
        ({"session_id": "../../etc/passwd", "keep_count": 1}, 400),
        ({"session_id": "abc"}, 400),
        ({"keep_count": 1}, 400),
        ({"session_id": "abc", "keep_count": -1}, 400),
        ({"session_id": "abc", "keep_count": 0}, 400),
        ({"session_id": "abc", "keep_count": "all"}, 400),
    ],
)
def test_bad_requests_get_a_json_error(body, status):
    reply = post("/api/session/branch", body)
    assert reply.status == status, reply.body
    assert isinstance(reply.json["error"], str) and reply.json["error"]
