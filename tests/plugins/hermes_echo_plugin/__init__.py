"""A third-party plugin, as small as one can be: a tool, a provider, a chat platform and a
store.

Its entry points (written by the tests into a `*.dist-info`):

    [hermes_station.tools]
    echo = hermes_echo_plugin:ECHO_UPPER
    [hermes_station.providers]
    echo = hermes_echo_plugin:PROVIDER
    [hermes_station.platforms]
    lines = hermes_echo_plugin.lines:PLATFORM
    [hermes_station.stores]
    elsewhere = hermes_echo_plugin.store:STORE
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, ClassVar

from hermes_agent.providers.base import (
    ChatRequest,
    Done,
    Event,
    ProviderPlugin,
    TextDelta,
    Usage,
)
from hermes_agent.settings import Settings
from hermes_agent.tools.registry import Tool, ToolContext


def echo_upper(args: dict[str, Any], ctx: ToolContext) -> str:
    return str(args["text"]).upper()


ECHO_UPPER = Tool(
    "echo_upper",
    "Repeat the text in capital letters.",
    {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    echo_upper,
)


class EchoProvider:
    """Answers every request with the user's last message, with no network at all."""

    name: ClassVar[str] = "echo"
    supports_tools: ClassVar[bool] = False
    needs_key: ClassVar[bool] = False

    def __init__(self, settings: Settings) -> None:
        self.model = settings.effective_model

    def stream(self, request: ChatRequest, cancel: threading.Event) -> Iterator[Event]:
        said = request.messages[-1]["content"]
        yield TextDelta(f"{request.model} heard: {said}")
        yield Usage(input_tokens=len(said), output_tokens=len(said))
        yield Done()

    def list_models(self) -> list[str]:
        return [self.model]


PROVIDER = ProviderPlugin("echo", EchoProvider, title="Echo", default_model="echo-1")
