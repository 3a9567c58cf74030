"""Context compression: when a conversation outgrows the model's window, the middle of the
history is replaced by a summary the model writes, keeping the opening and the latest turns.

Boundaries never split a tool call from its results: the kept tail starts at a user or
assistant message, never at a tool result whose call was summarised away.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from hermes_agent.errors import ProviderError
from hermes_agent.providers.base import ChatRequest, Provider, complete

log = logging.getLogger(__name__)

SUMMARY_PREFIX = "[Summary of the earlier conversation, kept for reference]\n"
SUMMARY_INSTRUCTIONS = (
    "Summarise the conversation below for the assistant who will continue it. Keep facts, "
    "decisions, file names, commands run and their outcomes, open questions and the user's "
    "goals. Write plain prose or bullet points, at most about 300 words."
)
CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD_TOKENS = 4


def estimate_tokens(messages: list[dict[str, Any]], tools: list[dict] | None = None) -> int:
    """A pre-call estimate (characters / 4); real counts come from the provider's usage."""
    chars = sum(len(_text_of(m)) + MESSAGE_OVERHEAD_TOKENS * CHARS_PER_TOKEN for m in messages)
    if tools:
        chars += len(json.dumps(tools))
    return chars // CHARS_PER_TOKEN


def _text_of(message: dict[str, Any]) -> str:
    content = message.get("content")
    text = content if isinstance(content, str) else json.dumps(content) if content else ""
    if message.get("tool_calls"):
        text += json.dumps(message["tool_calls"])
    return text


SUMMARY_FLAG = "_summary"  # marks the summary message among the user's own


class ContextCompressor:
    def __init__(
        self,
        provider: Provider,
        model: str,
        context_length: int,
        threshold: float = 0.75,
        *,
        keep_first: int = 2,
        keep_last: int = 4,
    ) -> None:
        self.provider = provider
        self.model = model
        self.context_length = context_length
        self.threshold_tokens = int(context_length * threshold)
        self.keep_first = keep_first
        self.keep_last = keep_last
        self.compression_count = 0
        self.last_prompt_tokens = 0

    def should_compress(self, prompt_tokens: int) -> bool:
        return prompt_tokens > self.threshold_tokens

    def can_compress(self, messages: list[dict[str, Any]]) -> bool:
        head, tail = self._boundaries(messages)
        return tail - head >= 1

    def compress(
        self, messages: list[dict[str, Any]], cancel: threading.Event | None = None
    ) -> list[dict[str, Any]]:
        """The history with its middle replaced by one summary message."""
        head, tail = self._boundaries(messages)
        middle = messages[head:tail]
        if not middle:
            return list(messages)
        summary = self._summarise(middle, cancel or threading.Event())
        self.compression_count += 1
        note = {"role": "user", "content": SUMMARY_PREFIX + summary, SUMMARY_FLAG: True}
        return [*messages[:head], note, *messages[tail:]]

    def _boundaries(self, messages: list[dict[str, Any]]) -> tuple[int, int]:
        head = min(self.keep_first, len(messages))
        while head < len(messages) and messages[head].get("role") == "tool":
            head += 1  # keep a kept call's results with it
        tail = max(head, len(messages) - self.keep_last)
        while head < tail < len(messages) and messages[tail].get("role") == "tool":
            tail -= 1  # pull the call that produced these results into the tail
        return head, tail

    def _summarise(self, middle: list[dict[str, Any]], cancel: threading.Event) -> str:
        budget = int(self.context_length * CHARS_PER_TOKEN * 0.6)
        transcript = "\n\n".join(f"{m.get('role', '?').upper()}: {_text_of(m)}" for m in middle)
        if len(transcript) > budget:
            transcript = "…" + transcript[-budget:]
        request = ChatRequest(
            model=self.model,
            messages=[
                {"role": "system", "content": SUMMARY_INSTRUCTIONS},
                {"role": "user", "content": transcript},
            ],
        )
        try:
            text = complete(self.provider, request, cancel).text.strip()
        except ProviderError as exc:
            log.warning("context summary failed (%s); dropping the middle without one", exc)
            text = ""
        return text or f"({len(middle)} earlier messages were removed to fit the context window.)"
