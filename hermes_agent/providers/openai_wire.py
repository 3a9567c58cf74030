"""The Chat Completions wire format: the request body out, the streamed chunks in.

Both run once per request or once per streamed token, so neither builds a typed object per
message or per chunk: the body is the request's own dicts serialised by orjson, and each
`data:` line of the event stream is parsed by orjson straight from its bytes into dicts.

Invariants of `read_events`:
- lines are split as bytes and only whole lines are parsed, so a UTF-8 character that a
  network read cuts in two arrives whole;
- text and reasoning deltas are yielded as they arrive; tool calls, assembled from their
  fragments by index, come after them in index order, then the usage (if reported), then
  exactly one `Done`;
- a stream that is not a well-formed Chat Completions stream (bad JSON, a chunk of the wrong
  shape, an error object sent mid-stream) raises `ProviderError`, never a parsing exception.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from hermes_agent.errors import ContextLengthExceeded, ProviderError
from hermes_agent.providers.base import (
    ChatRequest,
    Done,
    Event,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    Usage,
    describes_context_overflow,
    kind_for,
)

STREAM_END = b"[DONE]"


def request_body(request: ChatRequest) -> bytes:
    """The JSON body of a streamed completion request, usage included."""
    body: dict[str, Any] = {
        "model": request.model,
        "messages": request.messages,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if request.tools:
        body["tools"] = request.tools
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.temperature is not None:
        body["temperature"] = request.temperature
    return orjson.dumps(body)


def error_for(status: int | None, message: str) -> ProviderError:
    """The `ProviderError` an error reply means; `status` is None for one sent mid-stream."""
    if status in (None, 400, 413) and describes_context_overflow(message):
        return ContextLengthExceeded(message, status)
    if status is None:
        return ProviderError(f"The model provider failed mid-answer: {message}", "server")
    return ProviderError(f"{status} {message}", kind_for(status, message), status)


def read_events(chunks: Iterable[bytes], cancel: threading.Event) -> Iterator[Event]:
    """The events of a streamed completion, from the response body as the network gives it.

    Stops without a `Done` as soon as `cancel` is set.
    """
    answer = _Answer()
    for data in sse_data(chunks):
        if cancel.is_set():
            return
        yield from answer.read(data)
    yield from answer.end()


def sse_data(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The `data` of each server-sent event, up to the `[DONE]` marker.

    Comment lines (keep-alives) and the other fields are skipped; an event cut off by the
    end of the stream is dropped, as the SSE standard says.
    """
    data: list[bytes] = []
    for line in _lines(chunks):
        if not line:
            if data:
                event = data[0] if len(data) == 1 else b"\n".join(data)
                if event == STREAM_END:
                    return
                yield event
                data = []
        elif line.startswith(b"data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(b" ") else value)


def _lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Lines without their ends (LF, CRLF or CR), from reads that may cut a line anywhere.

    A CR at the end of a read waits for the next read, which may start with its LF.
    """
    pending = b""
    for chunk in chunks:
        lines = (pending + chunk).splitlines(keepends=True)
        pending = lines.pop() if lines and not lines[-1].endswith(b"\n") else b""
        for line in lines:
            yield line.rstrip(b"\r\n")
    if pending:
        yield pending.rstrip(b"\r\n")


def _lenient_json(data: bytes) -> Any:
    """A chunk orjson refuses only for a lone surrogate escape (`\\ud800`), which the
    standard parser accepts; the agent mends the text. Anything else is malformed."""
    try:
        return json.loads(data)
    except ValueError:
        raise _malformed(data) from None


class _Answer:
    """One streamed answer: turns its chunks into events and keeps what only the end emits."""

    def __init__(self) -> None:
        self.calls: dict[int, list[str]] = {}  # index -> [id, name, arguments]
        self.usage: Usage | None = None
        self.finish = "stop"

    def read(self, data: bytes) -> list[Event]:
        """The events of one chunk (a `chat.completion.chunk` as JSON)."""
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            chunk = _lenient_json(data)
        if not isinstance(chunk, dict):
            raise _malformed(data)
        if chunk.get("error"):
            raise _stream_error(chunk["error"])
        try:
            return self._chunk_events(chunk)
        except (AttributeError, TypeError):  # a field of the wrong type somewhere inside
            raise _malformed(data) from None

    def _chunk_events(self, chunk: dict[str, Any]) -> list[Event]:
        usage = chunk.get("usage")
        if usage:
            self.usage = _usage(usage)
        events: list[Event] = []
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta")
            if delta:
                self._delta_events(delta, events)
            finish = choice.get("finish_reason")
            if finish and isinstance(finish, str):
                self.finish = finish
        return events

    def _delta_events(self, delta: dict[str, Any], events: list[Event]) -> None:
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if reasoning and isinstance(reasoning, str):
            events.append(ReasoningDelta(reasoning))
        content = delta.get("content")
        if content and isinstance(content, str):
            events.append(TextDelta(content))
        for position, fragment in enumerate(delta.get("tool_calls") or ()):
            self._add_fragment(position, fragment)

    def _add_fragment(self, position: int, fragment: dict[str, Any]) -> None:
        """Fold one tool-call fragment into its call; calls are told apart by `index`."""
        index = fragment.get("index")
        call = self.calls.setdefault(index if isinstance(index, int) else position, ["", "", ""])
        call_id = fragment.get("id")
        if call_id and isinstance(call_id, str):
            call[0] = call_id
        function = fragment.get("function")
        if function:
            call[1] += function.get("name") or ""
            call[2] += function.get("arguments") or ""

    def end(self) -> Iterator[Event]:
        """What the stream amounted to beyond its deltas: tool calls, usage, `Done`."""
        for index in sorted(self.calls):
            call_id, name, arguments = self.calls[index]
            yield ToolCall(call_id or f"call_{index}", name, arguments or "{}")
        if self.usage is not None:
            yield self.usage
        yield Done(self.finish)


def _usage(raw: dict[str, Any]) -> Usage:
    prompt_details = raw.get("prompt_tokens_details") or {}
    completion_details = raw.get("completion_tokens_details") or {}
    return Usage(
        input_tokens=_count(raw.get("prompt_tokens")),
        output_tokens=_count(raw.get("completion_tokens")),
        cache_read_tokens=_count(prompt_details.get("cached_tokens")),
        reasoning_tokens=_count(completion_details.get("reasoning_tokens")),
    )


def _count(value: Any) -> int:
    """A token count as reported; null or anything but a whole number counts as none."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _stream_error(error: Any) -> ProviderError:
    """An error object sent in place of a chunk (OpenRouter and others do, after a 200)."""
    message = error.get("message") if isinstance(error, dict) else error
    if not isinstance(message, str) or not message:
        message = "an error occurred while streaming"
    code = error.get("code") if isinstance(error, dict) else None
    if isinstance(code, int) and 400 <= code < 600:
        return error_for(code, message)
    return error_for(None, message)


def _malformed(data: bytes) -> ProviderError:
    excerpt = data[:200].decode("utf-8", "replace")
    return ProviderError(f"The model provider sent a malformed stream chunk: {excerpt}", "server")
