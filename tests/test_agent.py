"""The agent loop through the real OpenAI-compatible provider against a scripted server."""

from __future__ import annotations

import threading
import time

import pytest

from hermes_agent import AIAgent
from hermes_agent.providers.openai_compat import OpenAICompatProvider
from hermes_agent.tools.approval import ApprovalPolicy
from hermes_agent.tools.registry import tools_named
from hermes_agent.turn import TurnEvents
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.fakes.turn_events import RecordingEvents
from tests.support import BUILTIN_TOOLS


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


def make_agent(fake, workspace, **kwargs) -> AIAgent:
    provider = OpenAICompatProvider(fake.base_url, "test-key", timeout=10, max_retries=0)
    kwargs.setdefault("tools", tools_named(BUILTIN_TOOLS))
    kwargs.setdefault("approval", ApprovalPolicy("off"))
    return AIAgent(provider, model="fake-model", workspace=workspace, **kwargs)


def test_streams_text_deltas_in_order_and_reports_provider_usage(fake, tmp_path):
    fake.script(Reply.text("Hello there, traveller.", usage=(42, 7), reasoning="Let me think"))
    events = RecordingEvents()
    agent = make_agent(fake, tmp_path)
    result = agent.run_conversation("hi", events=events)
    assert events.text == "Hello there, traveller."
    assert len(events.tokens) > 1
    assert "".join(events.reasoning_parts) == "Let me think"
    assert result.final_response == "Hello there, traveller."
    assert result.completed is True and result.failure is None
    usage = result.usage
    assert (usage.input_tokens, usage.output_tokens, usage.api_calls) == (42, 7, 1)
    assert usage.as_dict()["total_tokens"] == 49
    assert [(u.input_tokens, u.output_tokens) for u in events.usages] == [(42, 7)]
    assert [m["role"] for m in result.context] == ["user", "assistant"]
    assert result.context[-1]["reasoning"] == "Let me think"
    assert result.last_reasoning == "Let me think"
    assert list(result.new_messages) == list(result.context)


def test_runs_tools_over_several_steps_and_feeds_results_back(fake, tmp_path):
    fake.script(
        Reply.tool_calls([("write_file", {"path": "notes/a.txt", "content": "alpha"})]),
        Reply.tool_calls([("read_file", {"path": "notes/a.txt"}), ("list_dir", {"path": "notes"})]),
        Reply.text("The file says alpha."),
    )
    events = RecordingEvents()
    agent = make_agent(fake, tmp_path, events=events)  # the agent's standing events
    result = agent.run_conversation("write then read")
    assert (tmp_path / "notes" / "a.txt").read_text() == "alpha"
    messages = list(result.context)
    roles = [m["role"] for m in messages]
    assert roles == ["user", "assistant", "tool", "assistant", "tool", "tool", "assistant"]
    read_result = messages[4]
    assert read_result["content"] == "alpha"
    assert read_result["tool_call_id"] == messages[3]["tool_calls"][0]["id"]
    third_request = fake.requests[2]["messages"]
    assert any(m.get("role") == "tool" and m.get("content") == "alpha" for m in third_request)
    assert result.usage.api_calls == 3
    assert [(e[0], e[1]) for e in events.tool_events] == [
        ("started", "write_file"),
        ("finished", "write_file"),
        ("started", "read_file"),
        ("finished", "read_file"),
        ("started", "list_dir"),
        ("finished", "list_dir"),
    ]
    assert all(e[3] is False for e in events.tool_events if e[0] == "finished")
    assert events.tool_events[0][3] == {"path": "notes/a.txt", "content": "alpha"}
    assert fake.requests[0]["tools"], "tools are offered to a provider that supports them"


def test_a_tool_error_goes_back_to_the_model_and_the_turn_continues(fake, tmp_path):
    fake.script(
        Reply.tool_calls([("read_file", {"path": "../../etc/passwd"}), ("read_file", "{not json")]),
        Reply.text("I cannot read that."),
    )
    result = make_agent(fake, tmp_path).run_conversation("read passwd")
    outside, broken = result.context[2], result.context[3]
    assert "outside the workspace" in outside["content"]
    assert "not valid JSON" in broken["content"]
    assert result.final_response == "I cannot read that."
    assert result.completed is True


def test_stops_at_the_iteration_budget_with_an_explanation(fake, tmp_path):
    fake.default = Reply.tool_calls([("list_dir", {"path": "."})])
    result = make_agent(fake, tmp_path, max_iterations=3).run_conversation("loop forever")
    assert result.usage.api_calls == 3
    assert len(fake.requests) == 3
    assert result.exit_reason == "max_iterations"
    assert result.completed is False
    assert "3 steps" in result.final_response


def test_interrupt_during_a_running_tool_ends_the_turn_and_kills_the_command(fake, tmp_path):
    fake.script(Reply.tool_calls([("terminal", {"command": "sleep 30; touch finished"})]))
    agent = make_agent(fake, tmp_path)
    started = threading.Event()

    class SignalStart(TurnEvents):
        def tool_started(self, name, preview, args):
            started.set()

    threading.Thread(target=lambda: started.wait(10) and agent.interrupt(), daemon=True).start()
    began = time.monotonic()
    result = agent.run_conversation("run something slow", events=SignalStart())
    assert time.monotonic() - began < 5
    assert result.interrupted is True
    assert result.completed is False
    assert "interrupted" in result.context[-1]["content"]
    time.sleep(0.2)
    assert not (tmp_path / "finished").exists()


def test_interrupt_while_the_provider_hangs_returns_promptly(fake, tmp_path):
    fake.script(Reply.hang(seconds=20))
    agent = make_agent(fake, tmp_path)
    threading.Timer(0.3, agent.interrupt).start()
    began = time.monotonic()
    result = agent.run_conversation("hello?")
    assert time.monotonic() - began < 3
    assert result.interrupted is True
    assert result.final_response is None
    assert [m["role"] for m in result.context] == ["user"]


@pytest.mark.parametrize(
    ("reply", "kind", "words"),
    [
        (Reply.error(429, "Rate limit reached for requests"), "rate_limit", "Rate limit"),
        (Reply.error(500, "The server had an error"), "server", "server had an error"),
        (Reply.error(401, "Incorrect API key provided"), "auth", "Incorrect API key"),
        (Reply.error(404, "The model does not exist"), "not_found", "does not exist"),
        (Reply.disconnect(after="Partial ans"), "connection", "connection"),
    ],
)
def test_provider_failures_become_failed_results_not_exceptions(fake, tmp_path, reply, kind, words):
    fake.script(reply)
    result = make_agent(fake, tmp_path).run_conversation("hi")
    assert result.failure is not None
    assert result.failure.kind == kind
    assert result.completed is False
    assert result.exit_reason == f"provider_{kind}"
    assert words in str(result.failure)
    assert result.context[0] == {"role": "user", "content": "hi"}


def test_context_overflow_without_anything_to_compress_fails_clearly(fake, tmp_path):
    fake.script(Reply.error(400, "maximum context length exceeded", code="context_length_exceeded"))
    result = make_agent(fake, tmp_path).run_conversation("a huge message")
    assert result.failure is not None
    assert result.failure.kind == "context_length"
    assert "context length" in str(result.failure)


def test_context_overflow_compresses_the_history_and_retries(fake, tmp_path):
    history = []
    for i in range(6):
        history += [
            {"role": "user", "content": f"question {i}"},
            {"role": "assistant", "content": f"answer {i}"},
        ]
    fake.script(
        Reply.error(
            400, "This model's maximum context length is 100 tokens", code="context_length_exceeded"
        ),
        Reply.text("They asked six questions."),  # the summary
        Reply.text("Here is my answer."),
    )
    events = RecordingEvents()
    agent = make_agent(fake, tmp_path, events=events)
    result = agent.run_conversation("and now?", conversation_history=history)
    assert result.final_response == "Here is my answer."
    assert result.failure is None
    assert result.compressed is True
    assert len(result.context) < len(history) + 2
    assert any("They asked six questions." in str(m["content"]) for m in result.context)
    assert events.status_kinds == ["compressing", "compressed"]
    retried = fake.requests[2]["messages"]
    assert len(retried) < len(fake.requests[0]["messages"])


def test_event_failures_never_break_the_turn(fake, tmp_path):
    fake.script(Reply.text("still fine"))

    class Exploding(TurnEvents):
        def token(self, text):
            raise RuntimeError("the screen went away")

    result = make_agent(fake, tmp_path).run_conversation("hi", events=Exploding())
    assert result.final_response == "still fine"
    assert result.completed is True


def test_error_markers_and_private_keys_are_not_sent_to_the_model(fake, tmp_path):
    fake.script(Reply.text("ok"))
    history = [
        {"role": "user", "content": "first", "timestamp": 1, "attachments": ["a.png"]},
        {"role": "assistant", "content": "**Error:** boom", "_error": True},
    ]
    make_agent(fake, tmp_path).run_conversation("second", conversation_history=history)
    sent = fake.requests[0]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "user"]
    assert sent[1] == {"role": "user", "content": "first"}


def _long_history(pairs: int, size: int) -> list[dict]:
    history = []
    for i in range(pairs):
        history += [
            {"role": "user", "content": f"question {i} " + "x" * size},
            {"role": "assistant", "content": f"answer {i} " + "y" * size},
        ]
    return history


def test_compression_rotates_the_session_in_the_store_and_carries_the_title(fake, tmp_path):
    from hermes_state import SessionDB

    db = SessionDB(db_path=tmp_path / "state.db")
    db.create_session(session_id="chat_parent", source="cli", model="fake-model")
    db.set_session_title("chat_parent", "Chat")
    history = _long_history(8, 400)
    fake.script(Reply.text("Summary: eight long questions."), Reply.text("Final answer."))
    agent = make_agent(
        fake,
        tmp_path,
        session_db=db,
        session_id="chat_parent",
        context_length=1024,
        compression_threshold=0.5,
    )
    result = agent.run_conversation("one more", conversation_history=history)

    assert result.final_response == "Final answer."
    assert len(result.context) < len(history) + 2
    assert agent.session_id != "chat_parent"
    assert result.session_id == agent.session_id
    parent = db.get_session("chat_parent")
    assert parent["end_reason"] == "compression" and parent["ended_at"] is not None
    child = db.get_session(agent.session_id)
    assert child["parent_session_id"] == "chat_parent"
    assert child["title"] == "Chat #2"
    assert child["ended_at"] is None
    stored = [m["content"] for m in db.get_messages(agent.session_id)]
    assert any("eight long questions" in str(c) for c in stored)
    assert stored[-1] == "Final answer."
    summary_request = fake.requests[0]["messages"]
    assert "Summarise" in summary_request[0]["content"]


def test_a_turn_is_recorded_in_the_store_message_by_message(fake, tmp_path):
    from hermes_state import SessionDB

    db = SessionDB(db_path=tmp_path / "state.db")
    fake.script(
        Reply.tool_calls([("list_dir", {"path": "."})], usage=(30, 5)),
        Reply.text("Empty folder.", usage=(40, 3)),
    )
    agent = make_agent(fake, tmp_path, session_db=db, platform="web")
    agent.run_conversation("what is here?")
    row = db.get_session(agent.session_id)
    assert row["source"] == "web"
    assert (row["input_tokens"], row["output_tokens"], row["api_call_count"]) == (70, 8, 2)
    roles = [m["role"] for m in db.get_messages(agent.session_id)]
    assert roles == ["user", "assistant", "tool", "assistant"]


def test_the_users_message_is_recorded_before_the_model_answers(fake, tmp_path):
    from hermes_state import SessionDB

    db = SessionDB(db_path=tmp_path / "state.db")
    fake.script(Reply.hang(seconds=20))
    agent = make_agent(fake, tmp_path, session_db=db)
    threading.Timer(0.5, agent.interrupt).start()
    agent.run_conversation("do not lose me")
    assert [m["content"] for m in db.get_messages(agent.session_id)] == ["do not lose me"]


def test_an_agent_built_without_tools_offers_none(fake, tmp_path):
    fake.script(Reply.text("plain"))
    provider = OpenAICompatProvider(fake.base_url, "k", max_retries=0)
    result = AIAgent(provider, model="fake-model", workspace=tmp_path).run_conversation("hi")
    assert result.final_response == "plain"
    assert "tools" not in fake.requests[0]


def test_from_settings_uses_the_given_provider_without_building_another(
    fake, tmp_path, monkeypatch
):
    from hermes_agent import providers
    from hermes_agent.settings import Settings

    def refuse(settings):
        raise AssertionError("a provider was built although one was given")

    monkeypatch.setattr(providers, "create_provider", refuse)
    provider = OpenAICompatProvider(base_url=fake.base_url, api_key="k", max_retries=0)
    fake.script(Reply.text("hi"))

    agent = AIAgent.from_settings(Settings(), provider=provider, workspace=tmp_path)

    assert agent.run_conversation("hello").final_response == "hi"


def test_tool_results_keep_their_outcome_and_duration_for_the_surfaces(fake, tmp_path):
    fake.script(
        Reply.tool_calls([("read_file", {"path": "missing.txt"})]),
        Reply.tool_calls([("write_file", {"path": "ok.txt", "content": "x"})]),
        Reply.text("done"),
    )
    agent = make_agent(fake, tmp_path)

    result = agent.run_conversation("go")

    failed, succeeded = [m for m in result.context if m["role"] == "tool"]
    assert failed["_is_error"] is True
    assert "_is_error" not in succeeded
    assert all(isinstance(m["_duration"], float) for m in (failed, succeeded))
    sent = fake.requests[-1]["messages"]
    assert not any(key.startswith("_") for m in sent for key in m)
