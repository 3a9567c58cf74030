"""Text that is not valid Unicode: a lone UTF-16 surrogate (half a character).

A JSON escape like `"\\ud800"` decodes to one, and no UTF-8 file or reply can hold it. From the
model, the provider boundary replaces it with U+FFFD and every surface keeps working; from a
client, the request is refused with a 400 that says why.
"""

from __future__ import annotations

import pytest

from hermes_state import SessionDB
from tests.fakes.openai_server import Reply
from tests.support import read_events, request, web_server
from tests.tui_gateway_support import started_gateways

BROKEN = "bad \ud800 and \udfff end"
MENDED = "bad \ufffd and \ufffd end"


@pytest.fixture(scope="module")
def server(fake, tmp_path_factory):
    with web_server(tmp_path_factory.mktemp("surrogates"), fake) as process:
        yield process


def _turn(server, sid: str, message: str) -> list[tuple[str, dict]]:
    started = request(
        server.base, "POST", "/api/chat/start", {"session_id": sid, "message": message}
    )
    assert started.status == 200, started.json
    return read_events(server.base, started.json["stream_id"])


def test_a_lone_surrogate_in_an_answer_becomes_a_replacement_character_everywhere(server, fake):
    sid = request(server.base, "POST", "/api/session/new", {}).json["session"]["session_id"]
    fake.script(Reply.text(BROKEN))

    events = _turn(server, sid, "Say something odd")

    assert events[-1][0] == "stream_end", events
    streamed = "".join(data["text"] for name, data in events if name == "token")
    assert streamed == MENDED
    shown = request(server.base, "GET", f"/api/session?session_id={sid}")
    assert shown.status == 200
    assert shown.json["session"]["messages"][-1]["content"] == MENDED
    assert request(server.base, "GET", "/api/sessions").status == 200
    renamed = request(
        server.base, "POST", "/api/session/rename", {"session_id": sid, "title": "Odd"}
    )
    assert renamed.status == 200
    exported = request(server.base, "GET", f"/api/session/export?session_id={sid}")
    assert exported.status == 200

    fake.script(Reply.text("Fine again."))
    assert _turn(server, sid, "And now?")[-1][0] == "stream_end"
    db = SessionDB(server.root / "hermes-home" / "state.db")
    try:
        stored = [m["content"] for m in db.get_messages(sid)]
    finally:
        db.close()
    assert stored == ["Say something odd", MENDED, "And now?", "Fine again."]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/chat/start", {"message": "hi \ud800"}),
        ("/api/session/rename", {"title": "odd \udfff title"}),
        ("/api/session/import", {"messages": [{"role": "user", "content": "half \ud800"}]}),
    ],
)
def test_a_lone_surrogate_sent_by_a_client_is_refused_saying_why(server, path, body):
    sid = request(server.base, "POST", "/api/session/new", {}).json["session"]["session_id"]

    reply = request(server.base, "POST", path, {"session_id": sid, **body})

    assert (reply.status, reply.json) == (
        400,
        {"error": "Text contains an unpaired UTF-16 surrogate"},
    )
    assert request(server.base, "GET", f"/api/session?session_id={sid}").status in (200, 404)
    assert request(server.base, "GET", "/api/sessions").status == 200


def test_the_terminal_gateway_shows_and_stores_the_mended_text(fake, tmp_path):
    fake.script(Reply.text(BROKEN))
    with started_gateways(tmp_path, fake) as start:
        gateway = start()
        sid = gateway.create()
        events, complete = gateway.turn(sid, "Say something odd")
        assert gateway.close() == 0

    assert complete["status"] == "complete"
    assert complete["text"] == MENDED
    deltas = "".join(e["payload"]["text"] for e in events if e["type"] == "message.delta")
    assert deltas == MENDED
    with SessionDB(tmp_path / "home" / "state.db") as db:
        (row,) = db.list_sessions_rich(source="tui")
        assert [m["content"] for m in db.get_messages(row["id"])][-1] == MENDED
