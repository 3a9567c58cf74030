"""Any OpenAI-compatible endpoint (OpenAI, OpenRouter, Ollama, vLLM, llama.cpp server,
LM Studio) through the official `openai` SDK, streaming with usage and tool calls."""

from __future__ import annotations

import threading
from collections.abc import Iterator
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
    error_details,
    kind_for_status,
)

CONTEXT_MARKERS = (
    "context length",
    "context_length",
    "context window",
    "maximum context",
    "too many tokens",
    "prompt is too long",
    "reduce the length",
)


class OpenAICompatProvider:
    name: ClassVar[str] = "openai"
    supports_tools: ClassVar[bool] = True
    needs_key: ClassVar[bool] = False  # local servers accept any key

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 120.0,
        max_retries: int = 2,
    ) -> None:
        import openai

        self.base_url = base_url
        self._client = openai.OpenAI(
            base_url=base_url,
            api_key=api_key or "not-needed",
            timeout=timeout,
            max_retries=max_retries,
        )

    def list_models(self) -> list[str]:
        """The models the endpoint serves (OpenAI, OpenRouter, Ollama and others list them)."""
        import openai

        try:
            return sorted(model.id for model in self._client.models.list())
        except openai.APIStatusError as exc:
            raise _status_error(exc) from None
        except openai.APIError as exc:
            raise ProviderError(f"Cannot reach the model provider: {exc}", "connection") from None

    def stream(self, request: ChatRequest, cancel: threading.Event) -> Iterator[Event]:
        import openai

        try:
            stream = self._client.chat.completions.create(**self._params(request))
            yield from self._events(stream, cancel)
        except openai.APIStatusError as exc:
            raise _status_error(exc) from None
        except openai.APITimeoutError:
            raise ProviderError("The model provider did not answer in time", "timeout") from None
        except openai.APIError as exc:  # connection drops, including mid-stream
            where = f" at {self.base_url}" if self.base_url else ""
            raise ProviderError(
                f"Lost the connection to the model provider{where}: {exc}", "connection"
            ) from None

    @staticmethod
    def _params(request: ChatRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": request.model,
            "messages": request.messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.tools:
            params["tools"] = request.tools
        if request.max_tokens is not None:
            params["max_tokens"] = request.max_tokens
        if request.temperature is not None:
            params["temperature"] = request.temperature
        return params

    def _events(self, stream: Any, cancel: threading.Event) -> Iterator[Event]:
        calls: dict[int, dict[str, str]] = {}
        finish = "stop"
        usage = None
        with stream:
            for chunk in stream:
                if cancel.is_set():
                    return
                if chunk.usage is not None:
                    usage = _usage(chunk.usage)
                for choice in chunk.choices:
                    yield from _delta_events(choice.delta, calls)
                    if choice.finish_reason:
                        finish = choice.finish_reason
        for index in sorted(calls):
            call = calls[index]
            yield ToolCall(call["id"] or f"call_{index}", call["name"], call["arguments"] or "{}")
        if usage is not None:
            yield usage
        yield Done(finish)


def _delta_events(delta: Any, calls: dict[int, dict[str, str]]) -> Iterator[Event]:
    if delta is None:
        return
    reasoning = getattr(delta, "reasoning_content", None) or getattr(delta, "reasoning", None)
    if isinstance(reasoning, str) and reasoning:
        yield ReasoningDelta(reasoning)
    if delta.content:
        yield TextDelta(delta.content)
    for fragment in delta.tool_calls or ():
        call = calls.setdefault(fragment.index, {"id": "", "name": "", "arguments": ""})
        if fragment.id:
            call["id"] = fragment.id
        if fragment.function is not None:
            call["name"] += fragment.function.name or ""
            call["arguments"] += fragment.function.arguments or ""


def _usage(raw: Any) -> Usage:
    prompt_details = getattr(raw, "prompt_tokens_details", None)
    completion_details = getattr(raw, "completion_tokens_details", None)
    return Usage(
        input_tokens=raw.prompt_tokens or 0,
        output_tokens=raw.completion_tokens or 0,
        cache_read_tokens=getattr(prompt_details, "cached_tokens", 0) or 0,
        reasoning_tokens=getattr(completion_details, "reasoning_tokens", 0) or 0,
    )


def _status_error(exc: Any) -> ProviderError:
    _, message = error_details(exc)
    status = exc.status_code
    if status in (400, 413) and any(marker in message.lower() for marker in CONTEXT_MARKERS):
        return ContextLengthExceeded(message, status)
    return ProviderError(f"{status} {message}", kind_for_status(status), status)
