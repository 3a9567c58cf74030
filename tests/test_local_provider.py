"""The embedded model: a real llama.cpp run of the bundled SmolLM2 GGUF, no network."""

from __future__ import annotations

import threading

from hermes_agent import AIAgent
from hermes_agent.providers.base import ChatRequest, TextDelta, Usage
from hermes_agent.providers.local import LocalProvider, bundled_model_path
from hermes_agent.settings import load_settings


def test_the_bundled_model_ships_with_the_local_extra():
    path = bundled_model_path()
    assert path is not None and path.suffix == ".gguf"
    assert path.stat().st_size > 50_000_000


def test_the_local_provider_streams_a_short_answer_with_usage():
    provider = LocalProvider()
    request = ChatRequest(
        model="smollm2-135m",
        messages=[{"role": "user", "content": "Say hello in one short sentence."}],
        max_tokens=32,
    )
    events = list(provider.stream(request, threading.Event()))
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    usage = next(e for e in events if isinstance(e, Usage))
    assert text.strip()
    assert usage.input_tokens > 0 and 0 < usage.output_tokens <= 32


def test_with_nothing_configured_the_agent_answers_offline_without_tools(tmp_path):
    settings = load_settings(env={"HERMES_HOME": str(tmp_path)})
    assert settings.provider == "local"
    agent = AIAgent.from_settings(settings, workspace=tmp_path)
    assert agent.tools == [], "a provider that cannot call tools is offered none"
    result = agent.run_conversation("hello")
    assert result.completed is True
    assert result.final_response.strip()
    assert result.usage.cost_status == "included"
    assert result.usage.output_tokens > 0
