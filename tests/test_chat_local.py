"""A chat over HTTP with nothing configured: the bundled local model answers, offline."""

from __future__ import annotations

import http.client
import json

from tests.conftest import TEST_BASE, TEST_PORT, _post


def test_a_chat_streams_an_answer_from_the_bundled_model(cleanup_test_sessions):
    sid = _post(TEST_BASE, "/api/session/new", {})["session"]["session_id"]
    cleanup_test_sessions.append(sid)
    started = _post(TEST_BASE, "/api/chat/start", {"session_id": sid, "message": "hello"})
    conn = http.client.HTTPConnection("127.0.0.1", TEST_PORT, timeout=60)
    conn.request("GET", f"/api/chat/stream?stream_id={started['stream_id']}")
    reply = conn.getresponse()
    assert reply.status == 200
    assert reply.getheader("Content-Type").startswith("text/event-stream")
    body = reply.read().decode()
    events = [
        (fields["event"], json.loads(fields["data"]))
        for fields in (
            dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            for block in body.split("\n\n")
        )
        if "event" in fields
    ]
    names = [name for name, _ in events]
    assert "token" in names and "done" in names and names[-1] == "stream_end"
    answer = "".join(data["text"] for name, data in events if name == "token")
    assert answer.strip()
    done = dict(events)["done"]
    assert done["session"]["messages"][-1]["content"] == answer
    assert done["usage"]["output_tokens"] > 0
