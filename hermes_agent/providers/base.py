"""The one contract every model provider implements.

A provider turns a `ChatRequest` into a stream of typed events. It declares what it can do as
class attributes; the agent loop reads those and never branches on a provider's name.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from hermes_agent.settings import Settings


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: list[dict[str, Any]]  # OpenAI chat format; providers translate as needed
    tools: list[dict[str, Any]] | None = None  # OpenAI function-tool schemas
    max_tokens: int | None = None
    temperature: float | None = None


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_text(text: str) -> str:
    """`text` with every lone UTF-16 surrogate (half a character, which a JSON escape like
    `\\ud800` can carry and no UTF-8 file or reply can hold) replaced by U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _LONE_SURROGATE.sub("\ufffd", text)
    return text


def valid_event(event: Event) -> Event:
    """The event with its text made `valid_text`: what the agent takes from any provider."""
    if isinstance(event, TextDelta | ReasoningDelta):
        text = valid_text(event.text)
        return event if text is event.text else type(event)(text)
    if isinstance(event, ToolCall):
        fields = (event.id, event.name, event.arguments)
        mended = tuple(map(valid_text, fields))
        return event if mended == fields else ToolCall(*mended)
    return event


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ReasoningDelta:
    text: str


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text exactly as the model produced it


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0


@dataclass(frozen=True)
class Done:
    finish_reason: str = "stop"


Event = TextDelta | ReasoningDelta | ToolCall | Usage | Done


@dataclass
class StreamResult:
    """What one streamed completion amounted to, assembled from its events."""

    text: str = ""
    reasoning: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage | None = None
    finish_reason: str = "stop"


class Provider(Protocol):
    name: ClassVar[str]
    supports_tools: ClassVar[bool]
    needs_key: ClassVar[bool]

    def stream(self, request: ChatRequest, cancel: threading.Event) -> Iterator[Event]:
        """Yield events until the completion ends; stop early once `cancel` is set.

        Raises `ProviderError` (or `ContextLengthExceeded`) with a message a person can read.
        """
        ...

    def list_models(self) -> list[str]:
        """The model names this provider can serve, for pickers. Raises `ProviderError`."""
        ...

    def sees_images(self, model: str) -> bool | None:
        """Whether `model` takes images, when the provider knows; None when it cannot tell
        (the `vision_models` setting then decides)."""
        ...


@dataclass(frozen=True)
class ProviderPlugin:
    """A provider as registered in the `hermes_station.providers` entry point group.

    `create(settings)` builds the provider when the settings choose `name`; it is the only
    place a provider's SDK may be imported, so a process pays only for the provider in use.
    `title` labels it in pickers; `default_model` is used when the settings name no model;
    `key_env` is the environment variable an API key is read from when none is configured.
    """

    name: str
    create: Callable[[Settings], Provider]
    title: str = ""
    default_model: str = ""
    key_env: str | None = None


def complete(provider: Provider, request: ChatRequest, cancel: threading.Event) -> StreamResult:
    """Drain a stream into one result (for summaries and titles, which need no streaming)."""
    result = StreamResult()
    for event in provider.stream(request, cancel):
        accumulate(result, event)
    return result


def accumulate(result: StreamResult, event: Event) -> None:
    if isinstance(event, TextDelta):
        result.text += event.text
    elif isinstance(event, ReasoningDelta):
        result.reasoning += event.text
    elif isinstance(event, ToolCall):
        result.tool_calls.append(event)
    elif isinstance(event, Usage):
        result.usage = event
    elif isinstance(event, Done):
        result.finish_reason = event.finish_reason


STATUS_KINDS = {401: "auth", 403: "auth", 404: "not_found", 429: "rate_limit"}


CONTEXT_MARKERS = (
    "context length",
    "context_length",
    "context window",
    "maximum context",
    "too many tokens",
    "prompt is too long",
    "reduce the length",
)


def describes_context_overflow(message: str) -> bool:
    """Whether a provider's error message says the request did not fit the context window
    (providers send it as a plain 400, each in its own words)."""
    lowered = message.lower()
    return any(marker in lowered for marker in CONTEXT_MARKERS)


QUOTA_MARKERS = (
    "insufficient credit",
    "credit balance",
    "quota exceeded",
    "insufficient_quota",
    "exceeded your current quota",
    "billing",
)


def kind_for(status: int, message: str) -> str:
    """The `ProviderError.kind` of an HTTP error reply: "quota" when the account is out of
    credit (sent as a 429 or a 400 in each provider's own words), else by the status."""
    lowered = message.lower()
    if any(marker in lowered for marker in QUOTA_MARKERS):
        return "quota"
    return kind_for_status(status)


def kind_for_status(status: int) -> str:
    """The `ProviderError.kind` an HTTP error status means, for every HTTP provider."""
    return STATUS_KINDS.get(status, "server" if status >= 500 else "bad_request")


def error_details(exc: Any) -> tuple[str | None, str]:
    """(`error.type`, `error.message`) from an SDK error's body, else the SDK's message.

    SDKs give either the whole body (`{"error": {...}}`) or just the error object.
    """
    body = getattr(exc, "body", None)
    error = body.get("error", body) if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        error_type = error.get("type")
        return (error_type if isinstance(error_type, str) else None), error["message"]
    return None, str(getattr(exc, "message", None) or exc)
