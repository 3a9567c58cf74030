"""The agent loop against the in-process scripted provider: no socket, no SDK.

What the loop does with the provider's events (tool calls, errors of every kind, context
overflows, interruption) is tested here; tests/test_agent.py runs the same loop through the
real OpenAI-compatible provider over HTTP.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from typing import ClassVar

import pytest

from hermes_agent import AIAgent
from hermes_agent.tools.registry import tools_named
from hermes_agent.turn import ROW_ID, TurnEvents
from tests.fakes.scripted_provider import ScriptedProvider, Step
from tests.fakes.turn_events import RecordingEvents


def make_agent(provider: ScriptedProvider, workspace, **kwargs) -> AIAgent:
    kwargs.setdefault("tools", tools_named(["todo", "list_dir"]))
    return AIAgent(provider, model="scripted-model", workspace=workspace, **kwargs)


def test_a_tool_call_runs_and_its_result_goes_back_to_the_model_under_the_calls_id(tmp_path):
    todos = {"todos": [{"content": "buy milk"}]}
    provider = ScriptedProvider(
        Step.tool_calls([("todo", todos)], usage=(30, 5)),
        Step.text("Noted: buy milk.", usage=(45, 4)),
    )

    result = make_agent(provider, tmp_path).run_conversation("remind me to buy milk")

    messages = list(result.context)
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"]
    call = messages[1]["tool_calls"][0]
    assert (call["function"]["name"], json.loads(call["function"]["arguments"])) == ("todo", todos)
    tool_result = messages[2]
    assert tool_result["tool_call_id"] == call["id"]
    assert json.loads(tool_result["content"]) == [{"content": "buy milk", "status": "pending"}]
    sent_back = provider.requests[1].messages
    assert sent_back[-2]["tool_calls"][0]["id"] == call["id"]
    assert sent_back[-1] == {
        "role": "tool",
        "tool_call_id": call["id"],
        "name": "todo",
        "content": tool_result["content"],
    }
    assert result.final_response == "Noted: buy milk."
    usage = result.usage
    assert (usage.api_calls, usage.input_tokens, usage.output_tokens) == (2, 75, 9)


def test_the_request_carries_the_model_the_system_prompt_and_the_offered_tools_schemas(tmp_path):
    provider = ScriptedProvider(Step.text("hi"))

    make_agent(provider, tmp_path).run_conversation("hello")

    [request] = provider.requests
    assert request.model == "scripted-model"
    assert [m["role"] for m in request.messages] == ["system", "user"]
    assert request.tools == [tool.schema() for tool in tools_named(["todo", "list_dir"])]
    assert request.tools[0]["function"]["name"] == "todo"
    assert request.tools[0]["function"]["parameters"]["type"] == "object"


def test_a_provider_that_cannot_call_tools_is_offered_none(tmp_path):
    class TextOnly(ScriptedProvider):
        supports_tools: ClassVar[bool] = False

    provider = TextOnly(Step.text("plain"))

    result = make_agent(provider, tmp_path).run_conversation("hello")

    assert provider.requests[0].tools is None
    assert result.final_response == "plain"


def test_a_call_of_a_tool_that_was_not_offered_is_refused_and_the_turn_goes_on(tmp_path):
    provider = ScriptedProvider(
        Step.tool_calls([("terminal", {"command": "touch ran"})]),
        Step.text("I cannot run commands."),
    )

    result = make_agent(provider, tmp_path).run_conversation("run something")

    refused = result.context[2]
    assert refused["_is_error"] is True
    assert "no tool named 'terminal'" in refused["content"]
    assert not (tmp_path / "ran").exists()
    assert result.final_response == "I cannot run commands."


@pytest.mark.parametrize(
    "kind",
    [
        "rate_limit",
        "auth",
        "not_found",
        "bad_request",
        "server",
        "connection",
        "timeout",
        "unavailable",
    ],
)
def test_a_provider_error_of_each_kind_ends_the_turn_as_a_failure_of_that_kind(tmp_path, kind):
    provider = ScriptedProvider(Step.error(kind, f"the provider says {kind}"))

    result = make_agent(provider, tmp_path).run_conversation("hi")

    assert result.failure is not None
    assert result.failure.kind == kind
    assert result.completed is False
    assert result.exit_reason == f"provider_{kind}"
    assert str(result.failure) == f"the provider says {kind}"
    assert list(result.context) == [{"role": "user", "content": "hi"}]
    assert list(result.new_messages) == [{"role": "user", "content": "hi"}]


def test_text_streamed_before_a_dropped_stream_is_shown_but_not_kept(tmp_path):
    provider = ScriptedProvider(Step.error("connection", "stream dropped", after="Partial ans"))
    events = RecordingEvents()

    result = make_agent(provider, tmp_path).run_conversation("hi", events=events)

    assert events.text == "Partial ans"
    assert result.exit_reason == "provider_connection"
    assert [m["role"] for m in result.context] == ["user"]
    assert [m["role"] for m in result.new_messages] == ["user"]


def test_a_context_overflow_with_nothing_to_compress_fails_as_context_length(tmp_path):
    provider = ScriptedProvider(Step.error("context_length", "prompt is too long"))

    result = make_agent(provider, tmp_path).run_conversation("a huge message")

    assert result.exit_reason == "provider_context_length"
    assert result.failure is not None and result.failure.kind == "context_length"
    assert str(result.failure) == "prompt is too long"
    assert len(provider.requests) == 1


def test_a_context_overflow_compresses_the_history_and_retries_the_call(tmp_path):
    history = []
    for i in range(6):
        history += [
            {"role": "user", "content": f"question {i}"},
            {"role": "assistant", "content": f"answer {i}"},
        ]
    provider = ScriptedProvider(
        Step.error("context_length", "prompt is too long"),
        Step.text("They asked six questions."),  # the summary
        Step.text("Here is my answer."),
    )
    events = RecordingEvents()
    agent = make_agent(provider, tmp_path, events=events)

    result = agent.run_conversation("and now?", conversation_history=history)

    assert result.final_response == "Here is my answer."
    assert events.status_kinds == ["compressing", "compressed"]
    overflowed, summary, retried = provider.requests
    assert summary.tools is None
    assert len(retried.messages) < len(overflowed.messages)
    assert any("They asked six questions." in str(m["content"]) for m in retried.messages)


def test_interrupt_while_the_provider_hangs_cancels_its_call_and_returns_promptly(tmp_path):
    provider = ScriptedProvider(Step.hang())
    agent = make_agent(provider, tmp_path)
    threading.Timer(0.2, agent.interrupt).start()
    began = time.monotonic()

    result = agent.run_conversation("hello?")

    assert time.monotonic() - began < 2
    assert provider.cancels[0].wait(1), "the provider's call was not cancelled"
    assert result.interrupted is True
    assert result.final_response is None
    assert [m["role"] for m in result.context] == ["user"]


def test_interrupt_mid_answer_stops_the_stream_and_keeps_no_partial_answer(tmp_path):
    provider = ScriptedProvider(Step.text("one two three four five six seven", delay=0.1))
    agent = make_agent(provider, tmp_path)

    class InterruptAfterFirst(RecordingEvents):
        def token(self, text: str) -> None:
            super().token(text)
            agent.interrupt()

    events = InterruptAfterFirst()
    result = agent.run_conversation("count", events=events)

    assert events.tokens == ["one"]
    assert provider.cancels[0].is_set()
    assert result.interrupted is True
    assert result.exit_reason == "interrupted"
    assert [m["role"] for m in result.context] == ["user"]


def test_a_model_that_keeps_calling_tools_stops_at_the_iteration_budget(tmp_path):
    provider = ScriptedProvider()
    provider.default = Step.tool_calls([("list_dir", {"path": "."})])

    result = make_agent(provider, tmp_path, max_iterations=3).run_conversation("loop")

    assert len(provider.requests) == 3
    assert result.exit_reason == "max_iterations"
    assert "3 steps" in result.final_response


# ----- what a turn says it added ------------------------------------------------------------


def _earlier_history() -> list[dict]:
    return [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "Hi, what can I do?"},
        {"role": "user", "content": "nothing yet", "timestamp": 1},
        {"role": "assistant", "content": "Fine."},
    ]


def test_new_messages_are_exactly_the_turns_own_even_after_a_given_history(tmp_path):
    history = _earlier_history()
    before = copy.deepcopy(history)
    provider = ScriptedProvider(
        Step.tool_calls([("todo", {"todos": [{"content": "call mum"}]})]),
        Step.text("Added: call mum."),
    )

    result = make_agent(provider, tmp_path).run_conversation(
        "add call mum", conversation_history=history
    )

    assert [m["role"] for m in result.new_messages] == ["user", "assistant", "tool", "assistant"]
    assert result.new_messages[0] == {"role": "user", "content": "add call mum"}
    assert result.new_messages[-1]["content"] == "Added: call mum."
    assert result.new_messages[2]["tool_call_id"] == result.new_messages[1]["tool_calls"][0]["id"]
    assert list(result.context) == [*before, *result.new_messages]
    assert history == before, "the caller's history is neither extended nor changed"
    assert all(ROW_ID not in m for m in result.new_messages), "no store, no row ids"
    assert result.last_row_id is None


def test_the_caller_history_is_untouched_when_compression_rotates_the_recorded_session(tmp_path):
    from hermes_state import SessionDB

    db = SessionDB(tmp_path / "state.db")
    history = []
    for i in range(6):
        history += [
            {"role": "user", "content": f"question {i}"},
            {"role": "assistant", "content": f"answer {i}"},
        ]
    before = copy.deepcopy(history)
    provider = ScriptedProvider(
        Step.error("context_length", "prompt is too long"),
        Step.text("They asked six questions."),  # the summary
        Step.text("Here is my answer."),
    )
    agent = make_agent(provider, tmp_path, session_db=db)
    first_session = agent.session_id

    result = agent.run_conversation("and now?", conversation_history=history)

    assert result.compressed is True
    assert result.session_id == agent.session_id != first_session
    assert history == before, "re-recording the history in the new session kept off its dicts"
    summaries = [m for m in result.new_messages if "They asked six questions." in m["content"]]
    assert len(summaries) == 1, "the compression's summary is among the turn's messages"
    assert [(m["role"], m["content"]) for m in result.new_messages if m not in summaries] == [
        ("user", "and now?"),
        ("assistant", "Here is my answer."),
    ]
    in_context = {m[ROW_ID] for m in result.context}
    assert all(m[ROW_ID] in in_context for m in result.new_messages)
    rows = db.get_messages(result.session_id)
    assert [m[ROW_ID] for m in result.context] == [r["id"] for r in rows]
    assert result.last_row_id == rows[-1]["id"]


def test_each_recorded_message_carries_its_rows_id_and_the_last_is_reported(tmp_path):
    from hermes_state import SessionDB

    db = SessionDB(tmp_path / "state.db")
    provider = ScriptedProvider(
        Step.tool_calls([("list_dir", {"path": "."})]),
        Step.text("Empty folder."),
    )
    agent = make_agent(provider, tmp_path, session_db=db)

    result = agent.run_conversation("what is here?")

    rows = db.get_messages(result.session_id)
    assert [m["role"] for m in result.new_messages] == ["user", "assistant", "tool", "assistant"]
    assert [m[ROW_ID] for m in result.new_messages] == [r["id"] for r in rows]
    assert [m["role"] for m in result.new_messages] == [r["role"] for r in rows]
    assert [m["content"] for m in result.new_messages] == [r["content"] for r in rows]
    assert result.last_row_id == rows[-1]["id"]
    assert db.last_message_id(result.session_id) == result.last_row_id


def test_the_same_words_in_two_turns_are_two_rows_with_their_own_ids(tmp_path):
    from hermes_state import SessionDB

    db = SessionDB(tmp_path / "state.db")
    provider = ScriptedProvider(Step.text("Shall I go on?"), Step.text("Going on."))
    agent = make_agent(provider, tmp_path, session_db=db)

    first = agent.run_conversation("yes")
    second = agent.run_conversation("yes", conversation_history=list(first.context))

    first_yes, second_yes = first.new_messages[0], second.new_messages[0]
    assert first_yes["content"] == second_yes["content"] == "yes"
    assert first_yes[ROW_ID] != second_yes[ROW_ID]
    assert [m["role"] for m in second.new_messages] == ["user", "assistant"]
    rows = db.get_messages(agent.session_id)
    assert [(r["id"], r["role"], r["content"]) for r in rows] == [
        (m[ROW_ID], m["role"], m["content"]) for m in (*first.new_messages, *second.new_messages)
    ]
    assert first.last_row_id == first.new_messages[-1][ROW_ID]
    assert second.last_row_id == rows[-1]["id"] > first.last_row_id


def test_events_given_to_a_turn_take_the_place_of_the_agents_standing_events(tmp_path):
    provider = ScriptedProvider(Step.text("for the turn"), Step.text("for the agent"))
    standing = RecordingEvents()
    agent = make_agent(provider, tmp_path, events=standing)

    own = RecordingEvents()
    agent.run_conversation("first", events=own)
    agent.run_conversation("second")

    assert own.text == "for the turn"
    assert standing.text == "for the agent"


@pytest.mark.parametrize("answer", ["once", None])
def test_an_approval_is_asked_of_the_turns_events_and_their_answer_decides(tmp_path, answer):
    from hermes_agent.tools.approval import ApprovalPolicy

    provider = ScriptedProvider(
        Step.tool_calls([("terminal", {"command": "touch approved"})]),
        Step.text("Done."),
    )
    agent = make_agent(
        provider, tmp_path, tools=tools_named(["terminal"]), approval=ApprovalPolicy("ask")
    )
    events = RecordingEvents(approval=answer)

    result = agent.run_conversation("make a file", events=events)

    assert len(events.approvals) == 1 and "touch approved" in events.approvals[0][0]
    assert (tmp_path / "approved").exists() is (answer == "once")
    assert result.final_response == "Done."


def test_a_turn_without_anyone_to_ask_refuses_what_needs_approval(tmp_path):
    from hermes_agent.tools.approval import ApprovalPolicy

    provider = ScriptedProvider(
        Step.tool_calls([("terminal", {"command": "touch approved"})]),
        Step.text("I was not allowed."),
    )
    agent = make_agent(
        provider, tmp_path, tools=tools_named(["terminal"]), approval=ApprovalPolicy("ask")
    )

    result = agent.run_conversation("make a file", events=TurnEvents())

    assert not (tmp_path / "approved").exists()
    tool_result = next(m for m in result.new_messages if m["role"] == "tool")
    assert tool_result["_is_error"] is True


def test_half_a_character_from_the_provider_is_mended_before_anyone_sees_it(tmp_path):
    from hermes_state import SessionDB

    provider = ScriptedProvider(Step.text("bad \ud800 end", reasoning="why \udfff"))
    events = RecordingEvents()
    with SessionDB(tmp_path / "state.db") as db:
        agent = make_agent(provider, tmp_path, session_db=db)
        result = agent.run_conversation("hi", events=events)
        stored = [m["content"] for m in db.get_messages(result.session_id)]

    assert result.final_response == "bad \ufffd end"
    assert events.text == "bad \ufffd end"
    assert "".join(events.reasoning_parts) == "why \ufffd"
    assert stored == ["hi", "bad \ufffd end"]
