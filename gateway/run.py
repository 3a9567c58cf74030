"""The messaging gateway's turn handling: what a chat app user receives after a turn.

A chat app must never receive an empty reply for a turn that did work or failed: the user
would see nothing and wait forever. Interrupted turns stay silent (the platform layer tells
the user the turn was stopped).
"""

from __future__ import annotations

from typing import Any

CONTEXT_MARKERS = ("context", "token", "too large", "too long", "exceed", "payload")
LONG_HISTORY = 50
CONTEXT_OVERFLOW_REPLY = (
    "⚠️ Session too large for the model's context window.\n"
    "Use /compact to compress the conversation, or /reset to start fresh."
)
NO_RESPONSE_REPLY = (
    "⚠️ Processing completed but no response was generated. This may be a transient "
    "error — try sending your message again."
)


def _normalize_empty_agent_response(
    agent_result: dict[str, Any], response: str, *, history_len: int = 0
) -> str:
    """The reply to send: `response` when there is one, else a message saying what happened."""
    if response:
        return response
    if agent_result.get("failed"):
        detail = str(agent_result.get("error", "unknown error"))
        lowered = detail.lower()
        if any(m in lowered for m in CONTEXT_MARKERS) or (
            "400" in lowered and history_len > LONG_HISTORY
        ):
            return CONTEXT_OVERFLOW_REPLY
        return (
            f"The request failed: {detail[:300]}\nTry again or use /reset to start a fresh session."
        )
    api_calls = int(agent_result.get("api_calls", 0) or 0)
    if api_calls > 0 and not agent_result.get("interrupted"):
        if agent_result.get("partial"):
            reason = str(agent_result.get("error") or "processing incomplete")
            return f"⚠️ Processing stopped: {reason[:200]}. Try again."
        return NO_RESPONSE_REPLY
    return response
