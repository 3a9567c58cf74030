"""The agent loop against the in-process scripted provider: no socket, no SDK.

What the loop does with the provider's events (tool calls, errors of every kind, context
overflows, interruption) is tested here; tests/test_agent.py runs the same loop through the
real OpenAI-compatible provider over HTTP.
"""

from __future__ import annotations

import json
import threading
import time
from typing import ClassVar

import pytest

from hermes_agent import AIAgent
from hermes_agent.tools.registry import tools_named
from tests.fakes.scripted_provider import ScriptedProvider, Step


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

    assert [m["role"] for m in result["messages"]] == ["user", "assistant", "tool", "assistant"]
    call = result["messages"][1]["tool_calls"][0]
    assert (call["function"]["name"], json.loads(call["function"]["arguments"])) == ("todo", todos)
    tool_result = result["messages"][2]
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
    assert result["final_response"] == "Noted: buy milk."
    assert (result["api_calls"], result["input_tokens"], result["output_tokens"]) == (2, 75, 9)


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
    assert result["final_response"] == "plain"


def test_a_call_of_a_tool_that_was_not_offered_is_refused_and_the_turn_goes_on(tmp_path):
    provider = ScriptedProvider(
        Step.tool_calls([("terminal", {"command": "touch ran"})]),
        Step.text("I cannot run commands."),
    )

    result = make_agent(provider, tmp_path).run_conversation("run something")

    refused = result["messages"][2]
    assert refused["_is_error"] is True
    assert "no tool named 'terminal'" in refused["content"]
    assert not (tmp_path / "ran").exists()
    assert result["final_response"] == "I cannot run commands."


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

    assert result["failed"] is True
    assert result["completed"] is False
    assert result["turn_exit_reason"] == f"provider_{kind}"
    assert result["error"] == f"the provider says {kind}"
    assert result["messages"] == [{"role": "user", "content": "hi"}]


def test_text_streamed_before_a_dropped_stream_is_shown_but_not_kept(tmp_path):
    provider = ScriptedProvider(Step.error("connection", "stream dropped", after="Partial ans"))
    deltas: list[str] = []

    result = make_agent(provider, tmp_path).run_conversation("hi", stream_callback=deltas.append)

    assert "".join(deltas) == "Partial ans"
    assert result["turn_exit_reason"] == "provider_connection"
    assert [m["role"] for m in result["messages"]] == ["user"]


def test_a_context_overflow_with_nothing_to_compress_fails_as_context_length(tmp_path):
    provider = ScriptedProvider(Step.error("context_length", "prompt is too long"))

    result = make_agent(provider, tmp_path).run_conversation("a huge message")

    assert result["turn_exit_reason"] == "provider_context_length"
    assert result["error"] == "prompt is too long"
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
    statuses: list[str] = []
    agent = make_agent(
        provider, tmp_path, status_callback=lambda kind, _text: statuses.append(kind)
    )

    result = agent.run_conversation("and now?", conversation_history=history)

    assert result["final_response"] == "Here is my answer."
    assert statuses == ["compressing", "compressed"]
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
    assert result["interrupted"] is True
    assert result["final_response"] is None
    assert [m["role"] for m in result["messages"]] == ["user"]


def test_interrupt_mid_answer_stops_the_stream_and_keeps_no_partial_answer(tmp_path):
    provider = ScriptedProvider(Step.text("one two three four five six seven", delay=0.1))
    deltas: list[str] = []
    agent = make_agent(provider, tmp_path)

    def interrupt_after_first(delta: str) -> None:
        deltas.append(delta)
        agent.interrupt()

    result = agent.run_conversation("count", stream_callback=interrupt_after_first)

    assert deltas == ["one"]
    assert provider.cancels[0].is_set()
    assert result["interrupted"] is True
    assert result["turn_exit_reason"] == "interrupted"
    assert [m["role"] for m in result["messages"]] == ["user"]


def test_a_model_that_keeps_calling_tools_stops_at_the_iteration_budget(tmp_path):
    provider = ScriptedProvider()
    provider.default = Step.tool_calls([("list_dir", {"path": "."})])

    result = make_agent(provider, tmp_path, max_iterations=3).run_conversation("loop")

    assert len(provider.requests) == 3
    assert result["turn_exit_reason"] == "max_iterations"
    assert "3 steps" in result["final_response"]
