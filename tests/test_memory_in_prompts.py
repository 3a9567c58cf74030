"""Memory and skills reach the model as a snapshot frozen at the start of each conversation,
through a real `hermes web` and the scripted provider."""

from __future__ import annotations

import pytest

from tests.fakes.openai_server import Reply
from tests.support import ServerProcess, fake_provider_env, read_events, request

SKILL = "---\nname: trip-plan\ndescription: Plan a day trip by train.\n---\n1. Check trains.\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory, fake):
    process = ServerProcess(tmp_path_factory.mktemp("memory"), extra_env=fake_provider_env(fake))
    process.start()
    yield process
    process.stop()


def turn(server: ServerProcess, fake, sid: str, text: str, *replies: Reply) -> list[dict]:
    """The requests the model got for this turn."""
    before = len(fake.requests)
    fake.script(*replies)
    started = request(server.base, "POST", "/api/chat/start", {"session_id": sid, "message": text})
    assert started.status == 200, started.body
    assert read_events(server.base, started.json["stream_id"])[-1][0] == "stream_end"
    return fake.requests[before:]


def system_of(sent: dict) -> str:
    return sent["messages"][0]["content"]


def new(server: ServerProcess) -> str:
    return request(server.base, "POST", "/api/session/new", {}).json["session"]["session_id"]


def test_a_memory_written_shows_from_the_next_conversation_and_the_running_one_stays_frozen(
    server, fake
):
    first = new(server)
    sent = turn(
        server,
        fake,
        first,
        "I like metric units.",
        Reply.tool_calls(
            [("memory", {"action": "add", "target": "user", "content": "Prefers metric units."})]
        ),
        Reply.text("Noted."),
    )
    assert "Added to user." in sent[1]["messages"][-1]["content"]
    assert all("Prefers metric units." not in system_of(s) for s in sent)
    later = turn(server, fake, first, "And now?", Reply.text("Still the same prompt."))
    assert system_of(later[0]) == system_of(sent[0]), "frozen for the whole conversation"

    second = new(server)
    fresh = turn(server, fake, second, "Hello", Reply.text("Hi."))
    prompt = system_of(fresh[0])
    assert "## About the user [2% — 21/1,375 chars]\nPrefers metric units." in prompt

    server.stop()
    server.start()
    again = turn(server, fake, first, "After a restart?", Reply.text("Same."))
    assert "Prefers metric units." not in system_of(again[0]), "kept across a restart too"


def test_a_saved_skill_is_listed_in_the_next_conversation_by_name_and_description(server, fake):
    first = new(server)
    turn(
        server,
        fake,
        first,
        "Remember how to plan trips",
        Reply.tool_calls(
            [("skill_manage", {"action": "create", "name": "trip-plan", "content": SKILL})]
        ),
        Reply.text("Saved."),
    )
    prompt = system_of(turn(server, fake, new(server), "Plan Sintra", Reply.text("Ok."))[0])
    assert "- trip-plan: Plan a day trip by train." in prompt
    assert "1. Check trains." not in prompt, "only the index: the body is loaded on demand"


def test_a_skill_invoked_by_slash_command_reaches_the_model_and_the_transcript_keeps_the_words(
    server, fake
):
    skill = server.root / "hermes-home" / "skills" / "packing-list"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text(
        "---\nname: packing-list\ndescription: Make a packing list.\n---\nList by weather first.\n"
    )
    sid = new(server)
    sent = turn(server, fake, sid, "/packing-list Sintra in March", Reply.text("Raincoat."))

    parts = sent[0]["messages"][-1]["content"]
    assert parts[0] == {"type": "text", "text": "/packing-list Sintra in March"}
    assert "Follow it for this request:]\nList by weather first." in parts[1]["text"]
    shown = request(server.base, "GET", f"/api/session?session_id={sid}").json["session"]
    user = shown["messages"][0]
    texts = [p.get("text") for p in user["content"] if p.get("type") == "text"]
    assert texts == ["/packing-list Sintra in March"]

    plain = turn(server, fake, new(server), "/not-a-skill hello", Reply.text("Hm."))
    assert plain[0]["messages"][-1]["content"] == "/not-a-skill hello"


def test_recall_from_the_web_finds_a_conversation_held_in_a_chat_app(server, fake):
    from hermes_state import SessionDB

    with SessionDB(db_path=server.root / "hermes-home" / "state.db") as db:  # as the gateway does
        db.create_session("tg-roof", source="telegram")
        db.set_session_title("tg-roof", "Roof repairs")
        db.append_message("tg-roof", "user", "Let's go with slate tiles for the roof.")
        db.append_message("tg-roof", "assistant", "Slate it is.")
    sent = turn(
        server,
        fake,
        new(server),
        "What did we decide about the roof?",
        Reply.tool_calls([("session_search", {"query": "slate tiles"})]),
        Reply.text("You chose slate."),
    )
    found = sent[1]["messages"][-1]["content"]
    assert found.startswith("1. “Roof repairs” (telegram, ")
    assert "slate" in found.lower()
