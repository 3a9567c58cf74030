"""One conversation, two surfaces: started in the terminal gateway, found and continued in the
web server, resumed in the terminal with the browser's turn in its history, and back in the
browser with the terminal's turn in its transcript.

Both are real processes sharing one HERMES_HOME (and so one state.db), as on a person's
machine; the model is the scripted fake.
"""

from __future__ import annotations

import pytest

from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.support import ServerProcess, fake_provider_env, read_events, request
from tests.tui_gateway_support import started_gateways


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def start(tmp_path, fake):
    with started_gateways(tmp_path, fake) as start:
        yield start


def test_a_terminal_conversation_is_searchable_and_continued_in_the_browser(start, fake, tmp_path):
    fake.script(Reply.text("Bring a torch for the lighthouse stairs."))
    gateway = start()
    sid = gateway.create()
    gateway.turn(sid, "Plan the lighthouse visit")
    store_id = gateway.result("session.list", {"source": "tui"})["sessions"][0]["id"]
    assert gateway.close() == 0

    web = ServerProcess(
        tmp_path / "web",
        extra_env={**fake_provider_env(fake), "HERMES_HOME": str(tmp_path / "home")},
    )
    web.start()
    try:
        listed = request(web.base, "GET", "/api/sessions").json["sessions"]
        row = next(r for r in listed if r["session_id"] == store_id)
        assert (row["title"], row["source"]) == ("Plan the lighthouse visit", "tui")
        found = request(web.base, "GET", "/api/sessions/search?q=torch").json["sessions"]
        assert [(r["session_id"], r["match_type"]) for r in found] == [(store_id, "content")]

        request(web.base, "POST", "/api/session/import_cli", {"session_id": store_id})
        fake.script(Reply.text("The last boat back leaves at six."))
        started = request(
            web.base, "POST", "/api/chat/start", {"session_id": store_id, "message": "And back?"}
        )
        assert read_events(web.base, started.json["stream_id"])[-1][0] == "stream_end"
    finally:
        web.stop()

    fake.script(Reply.text("Yes: torch, boat at six."))
    again = start()
    resumed = again.result("session.resume", {"session_id": "Plan the lighthouse visit"})
    _, complete = again.turn(resumed["session_id"], "Summarise")
    assert complete["text"] == "Yes: torch, boat at six."
    seen = [m.get("content") for m in fake.requests[-1]["messages"]]
    assert "And back?" in seen and "The last boat back leaves at six." in seen
    assert again.close() == 0

    # Back in the browser: the terminal's turn is there, once, and the model sees it.
    web.start()
    try:
        opened = request(web.base, "GET", f"/api/session?session_id={store_id}").json["session"]
        contents = [m.get("content") for m in opened["messages"]]
        assert contents == [
            "Plan the lighthouse visit",
            "Bring a torch for the lighthouse stairs.",
            "And back?",
            "The last boat back leaves at six.",
            "Summarise",
            "Yes: torch, boat at six.",
        ]
        reopened = request(web.base, "GET", f"/api/session?session_id={store_id}").json
        assert len(reopened["session"]["messages"]) == 6, "caught up once, not twice"
        fake.script(Reply.text("Have a good trip."))
        started = request(
            web.base, "POST", "/api/chat/start", {"session_id": store_id, "message": "Thanks"}
        )
        assert read_events(web.base, started.json["stream_id"])[-1][0] == "stream_end"
        sent = [m.get("content") for m in fake.requests[-1]["messages"]]
        assert "Yes: torch, boat at six." in sent
        final = request(web.base, "GET", f"/api/session?session_id={store_id}").json["session"]
        assert [m.get("content") for m in final["messages"]][-2:] == ["Thanks", "Have a good trip."]
        assert len(final["messages"]) == 8
    finally:
        web.stop()
