"""A scripted model provider in process, for unit tests of the agent core.

The HTTP fakes (`openai_server`, `anthropic_server`) put the real provider code and its SDK
between a test and the script, which is what end-to-end tests need. A test of the agent loop
itself (tool calls, context retries, compression, interruption) needs none of that: this
provider implements the `Provider` contract of `hermes_agent.providers.base` directly, so such
a test runs without a socket, an SDK or a server thread::

    provider = ScriptedProvider(
        Step.tool_calls([("todo", {"todos": []})]),
        Step.text("All done.", usage=(20, 3)),
    )
    agent = AIAgent(provider, model="scripted-model", tools=tools_named(["todo"]))
    result = agent.run_conversation("hi", events=RecordingEvents())
    assert [m["role"] for m in result.new_messages] == ["user", "assistant", "tool", "assistant"]
    assert provider.requests[1].messages[-1]["role"] == "tool"

(`RecordingEvents` is in `tests.fakes.turn_events`.)

Each `stream` call takes the next scripted `Step` (or `default` once the script is spent); a
call with neither raises `AssertionError`, which no part of the agent catches, so an
unexpected extra model call fails the test instead of being answered with something plausible.
Every `ChatRequest` is kept in `requests` and its cancel event in `cancels`, in call order.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from hermes_agent.errors import ContextLengthExceeded, ProviderError
from hermes_agent.providers.base import (
    ChatRequest,
    Done,
    Event,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    Usage,
)
from tests.fakes.scripted_server import encode_calls, split_tokens

__all__ = ["ScriptedProvider", "Step"]

HANG_LIMIT = 30.0  # seconds a "hang" waits for its cancel before failing as a timeout


@dataclass(frozen=True)
class Step:
    """One scripted model call; build it with the classmethods, not the constructor.

    Steps are immutable, so one may be scripted twice or used as `default`.
    """

    kind: str
    """"text", "tool_calls", "error" or "hang"."""
    content: str = ""
    reasoning: str = ""
    calls: tuple[tuple[str, str], ...] = ()
    usage: tuple[int, int] | None = None
    delay: float = 0.0
    error_kind: str = ""
    message: str = ""

    @classmethod
    def text(
        cls,
        content: str,
        *,
        usage: tuple[int, int] | None = None,
        reasoning: str = "",
        delay: float = 0.0,
    ) -> Step:
        """An answer: `reasoning` then `content` as word-ish deltas, `delay` seconds apart,
        then `Usage` (input, output tokens) when given, then `Done("stop")`."""
        return cls("text", content, reasoning, usage=usage, delay=delay)

    @classmethod
    def tool_calls(
        cls,
        calls: Iterable[tuple[str, Mapping[str, Any] | str]],
        *,
        content: str = "",
        usage: tuple[int, int] | None = None,
    ) -> Step:
        """A call of tools: (name, arguments) pairs, a mapping sent as its JSON text and a
        string verbatim (to script malformed arguments); ids are "call_<n>", unique for the
        provider's lifetime. `content` is text said before the calls."""
        return cls("tool_calls", content, calls=encode_calls(calls), usage=usage)

    @classmethod
    def error(cls, kind: str, message: str = "", *, after: str = "") -> Step:
        """Fail with `ProviderError(message, kind)` (`ContextLengthExceeded` for the kind
        "context_length"), after streaming the text `after`, as a dropped stream does."""
        return cls("error", after, error_kind=kind, message=message)

    @classmethod
    def hang(cls) -> Step:
        """Send nothing until the call is cancelled, then end without `Done`: a provider that
        stalls. Uncancelled, it fails as a timeout after `HANG_LIMIT` seconds."""
        return cls("hang")


class ScriptedProvider:
    """The `Provider` contract, answering from a script of `Step`s."""

    name: ClassVar[str] = "scripted"
    supports_tools: ClassVar[bool] = True
    needs_key: ClassVar[bool] = False

    def __init__(self, *steps: Step) -> None:
        self.default: Step | None = None
        self.requests: list[ChatRequest] = []
        self.cancels: list[threading.Event] = []
        self._steps: deque[Step] = deque(steps)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def script(self, *steps: Step) -> None:
        """Append steps to the script."""
        with self._lock:
            self._steps.extend(steps)

    def stream(self, request: ChatRequest, cancel: threading.Event) -> Iterator[Event]:
        step = self._take(request, cancel)
        if step.kind == "hang":
            if not cancel.wait(HANG_LIMIT):
                raise ProviderError("the scripted provider hung", "timeout")
            return
        for event in self._events(step):
            if cancel.is_set():
                return
            yield event
            if step.delay and cancel.wait(step.delay):
                return
        if step.kind == "error":
            raise _failure(step)

    def list_models(self) -> list[str]:
        return ["scripted-model"]

    def _take(self, request: ChatRequest, cancel: threading.Event) -> Step:
        with self._lock:
            self.requests.append(request)
            self.cancels.append(cancel)
            if self._steps:
                return self._steps.popleft()
        if self.default is None:
            raise AssertionError(f"model call {len(self.requests)} was not scripted")
        return self.default

    def _events(self, step: Step) -> Iterator[Event]:
        for piece in split_tokens(step.reasoning):
            yield ReasoningDelta(piece)
        for piece in split_tokens(step.content):
            yield TextDelta(piece)
        if step.kind == "error":
            return
        for name, arguments in step.calls:
            yield ToolCall(f"call_{next(self._ids)}", name, arguments)
        if step.usage is not None:
            yield Usage(input_tokens=step.usage[0], output_tokens=step.usage[1])
        yield Done("tool_calls" if step.calls else "stop")


def _failure(step: Step) -> ProviderError:
    message = step.message or f"scripted {step.error_kind} error"
    if step.error_kind == "context_length":
        return ContextLengthExceeded(message)
    return ProviderError(message, step.error_kind)
