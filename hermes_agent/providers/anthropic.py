"""Anthropic's Messages API through the official `anthropic` SDK (the `anthropic` extra).

Our history is in OpenAI chat format; this module translates it both ways: system messages
become the `system` field, assistant tool calls become `tool_use` blocks and tool results
become `tool_result` blocks in a user turn.
"""

from __future__ import annotations

import importlib
import json
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
    kind_for,
)

DEFAULT_MAX_TOKENS = 4096
STOP_REASONS = {"end_turn": "stop", "tool_use": "tool_calls", "max_tokens": "length"}
# `error.type` says what went wrong when the status cannot: an error event mid-stream
# arrives on a response that already began with 200.
ERROR_TYPE_KINDS = {
    "invalid_request_error": "bad_request",
    "request_too_large": "bad_request",
    "authentication_error": "auth",
    "permission_error": "auth",
    "not_found_error": "not_found",
    "rate_limit_error": "rate_limit",
    "timeout_error": "timeout",
    "api_error": "server",
    "overloaded_error": "server",
}


class AnthropicProvider:
    name: ClassVar[str] = "anthropic"
    supports_tools: ClassVar[bool] = True
    needs_key: ClassVar[bool] = True

    def __init__(
        self,
        api_key: str | None,
        base_url: str | None = None,
        *,
        timeout: float = 120.0,
        max_retries: int = 2,
    ) -> None:
        try:
            import anthropic
        except ImportError:
            raise ProviderError(
                "The anthropic provider needs the 'anthropic' extra: "
                "pip install 'hermes-station[anthropic]'",
                "unavailable",
            ) from None
        if not api_key:
            raise ProviderError("Set ANTHROPIC_API_KEY (or api_key in config.yaml)", "auth")
        self._client = anthropic.Anthropic(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries
        )

    def sees_images(self, _model: str) -> bool:
        return True  # every Claude model the API serves takes images

    def list_models(self) -> list[str]:
        import anthropic

        try:
            return sorted(model.id for model in self._client.models.list())
        except anthropic.APIStatusError as exc:
            raise _status_error(exc) from None
        except anthropic.APIError as exc:
            raise ProviderError(f"Cannot reach Anthropic: {exc}", "connection") from None

    def stream(self, request: ChatRequest, cancel: threading.Event) -> Iterator[Event]:
        import anthropic

        system, messages = to_anthropic_messages(request.messages)
        params: dict[str, Any] = {
            "model": request.model,
            "messages": messages,
            "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
            "stream": True,
        }
        if system:
            params["system"] = system
        if request.tools:
            params["tools"] = [_tool_schema(tool) for tool in request.tools]
        if request.temperature is not None:
            # Through the body: recent SDK releases dropped the sampling keyword arguments.
            params["extra_body"] = {"temperature": request.temperature}
        timeouts, dropped = _transport_errors()
        try:
            with self._client.messages.create(**params) as stream:
                yield from self._events(stream, cancel)
        except anthropic.APIStatusError as exc:
            raise _status_error(exc) from None
        except (anthropic.APITimeoutError, *timeouts):
            raise ProviderError("The model provider did not answer in time", "timeout") from None
        except (anthropic.APIConnectionError, *dropped) as exc:
            # The SDK wraps failures before the response; a drop mid-stream escapes as the
            # transport's own error.
            raise ProviderError(f"Lost the connection to Anthropic: {exc}", "connection") from None

    def _events(self, stream: Any, cancel: threading.Event) -> Iterator[Event]:
        tools: dict[int, dict[str, str]] = {}
        input_tokens = cache_read = cache_write = output_tokens = 0
        finish = "stop"
        for event in stream:
            if cancel.is_set():
                return
            kind = event.type
            if kind == "message_start":
                usage = event.message.usage
                input_tokens = usage.input_tokens or 0
                cache_read = getattr(usage, "cache_read_input_tokens", 0) or 0
                cache_write = getattr(usage, "cache_creation_input_tokens", 0) or 0
            elif kind == "content_block_start" and event.content_block.type == "tool_use":
                block = event.content_block
                tools[event.index] = {"id": block.id, "name": block.name, "arguments": ""}
            elif kind == "content_block_delta":
                delta = event.delta
                if delta.type == "text_delta":
                    yield TextDelta(delta.text)
                elif delta.type == "thinking_delta":
                    yield ReasoningDelta(delta.thinking)
                elif delta.type == "input_json_delta" and event.index in tools:
                    tools[event.index]["arguments"] += delta.partial_json
            elif kind == "message_delta":
                output_tokens = event.usage.output_tokens or output_tokens
                finish = STOP_REASONS.get(event.delta.stop_reason or "", finish)
        for index in sorted(tools):
            call = tools[index]
            yield ToolCall(call["id"], call["name"], call["arguments"] or "{}")
        yield Usage(input_tokens, output_tokens, cache_read, cache_write)
        yield Done(finish)


def _transport_errors() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    """(timeouts, other transport failures) of the HTTP libraries the SDK may stream through."""
    timeouts: list[type[Exception]] = []
    dropped: list[type[Exception]] = []
    for name in ("httpx2", "httpx"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        timeouts.append(module.TimeoutException)
        dropped.append(module.TransportError)
    return tuple(timeouts), tuple(dropped)


def _status_error(exc: Any) -> ProviderError:
    """An SDK status error as a ProviderError whose message is the API's own explanation."""
    status = exc.status_code
    error_type, message = error_details(exc)
    if status in (400, 413) and "prompt is too long" in message.lower():
        return ContextLengthExceeded(message, status)
    if status < 400:  # an error event in a stream that began with 200
        kind = ERROR_TYPE_KINDS.get(error_type or "", "server")
        return ProviderError(f"{error_type or 'error'} during the answer: {message}", kind)
    return ProviderError(f"{status} {message}", kind_for(status, message), status)


def _tool_schema(tool: dict[str, Any]) -> dict[str, Any]:
    function = tool["function"]
    return {
        "name": function["name"],
        "description": function.get("description", ""),
        "input_schema": function.get("parameters", {"type": "object", "properties": {}}),
    }


def to_anthropic_messages(messages: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Split out the system prompt and translate tool traffic into content blocks."""
    system_parts: list[str] = []
    out: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role == "system":
            system_parts.append(str(message.get("content") or ""))
            continue
        blocks = _blocks(message)
        if not blocks:
            continue  # the API refuses empty messages; an empty one says nothing anyway
        turn_role = "assistant" if role == "assistant" else "user"
        if out and out[-1]["role"] == turn_role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": turn_role, "content": blocks})
    return "\n\n".join(p for p in system_parts if p), out


def _content_block(part: dict[str, Any]) -> dict[str, Any]:
    """A text part as it is; an image given as a data URL as an image block."""
    url = (part.get("image_url") or {}).get("url", "") if part.get("type") == "image_url" else ""
    if url.startswith("data:") and ";base64," in url:
        mime, data = url[5:].split(";base64,", 1)
        return {"type": "image", "source": {"type": "base64", "media_type": mime, "data": data}}
    return part if part.get("type") == "text" else {"type": "text", "text": ""}


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    if message.get("role") == "tool":
        return [
            {
                "type": "tool_result",
                "tool_use_id": message.get("tool_call_id", ""),
                "content": content if isinstance(content, str) else json.dumps(content),
            }
        ]
    blocks: list[dict[str, Any]] = []
    if isinstance(content, str) and content:
        blocks.append({"type": "text", "text": content})
    elif isinstance(content, list):
        blocks.extend(_content_block(p) for p in content if isinstance(p, dict))
    for call in message.get("tool_calls") or ():
        function = call.get("function", {})
        try:
            arguments = json.loads(function.get("arguments") or "{}")
        except json.JSONDecodeError:
            arguments = {}
        if not isinstance(arguments, dict):
            arguments = {}  # the API accepts only an object as a tool's input
        blocks.append(
            {
                "type": "tool_use",
                "id": call.get("id"),
                "name": function.get("name"),
                "input": arguments,
            }
        )
    return [b for b in blocks if b.get("type") != "text" or b.get("text")]
