"""Folding an agent turn into the web transcript.

The web session keeps two histories: `messages`, what the user sees (every prompt ever sent,
error markers included), and `context_messages`, what the model sees (possibly compressed).
The agent works on the model history; these helpers turn its result back into both.
"""

from __future__ import annotations

import json
import time
from typing import Any

from api.models import message_text
from hermes_agent.compression import SUMMARY_PREFIX

API_KEYS = ("role", "content", "tool_calls", "tool_call_id", "name")
SNIPPET_CHARS = 200
ARG_CHARS = 120


def api_history(messages: list[Any]) -> list[dict[str, Any]]:
    """The model's view: no error markers, API keys only, no tool result without its call."""
    declared = {
        call.get("id")
        for m in messages
        if isinstance(m, dict) and m.get("role") == "assistant"
        for call in m.get("tool_calls") or ()
        if isinstance(call, dict)
    }
    history = []
    for m in messages:
        if not isinstance(m, dict) or not m.get("role") or m.get("_error"):
            continue
        if m["role"] == "tool" and m.get("tool_call_id") not in declared:
            continue
        history.append({k: v for k, v in m.items() if k in API_KEYS})
    return history


def _identity(message: dict[str, Any]) -> tuple:
    return (
        message.get("role"),
        " ".join(message_text(message.get("content")).split())[:500],
        message.get("tool_call_id"),
        json.dumps(message.get("tool_calls"), sort_keys=True),
    )


def new_display_messages(
    previous: list[dict[str, Any]], result: list[dict[str, Any]], user_text: str
) -> list[dict[str, Any]]:
    """The messages of this turn, for the display transcript.

    Normally the result extends the history it was given. After a compression it does not:
    then the turn starts at the user's message, preceded by the new summary.
    """
    if len(result) >= len(previous) and all(
        _identity(a) == _identity(b) for a, b in zip(previous, result, strict=False)
    ):
        return [dict(m) for m in result[len(previous) :]]
    start = _last_user_turn(result, user_text)
    summaries = [
        dict(m)
        for m in result[:start]
        if m.get("role") == "user" and message_text(m.get("content")).startswith(SUMMARY_PREFIX)
    ]
    return summaries + [dict(m) for m in result[start:]]


def _last_user_turn(messages: list[dict[str, Any]], user_text: str) -> int:
    wanted = " ".join(user_text.split())
    for i in range(len(messages) - 1, -1, -1):
        m = messages[i]
        if m.get("role") == "user" and " ".join(message_text(m.get("content")).split()) == wanted:
            return i
    return len(messages)


def has_assistant_text(messages: list[dict[str, Any]]) -> bool:
    return any(
        m.get("role") == "assistant" and message_text(m.get("content")).strip() for m in messages
    )


def stamp(messages: list[dict[str, Any]], when: float | None = None) -> None:
    """Give messages without a time one, so the sidebar and the UI can order them."""
    now = int(when or time.time())
    for m in messages:
        if "timestamp" not in m and "_ts" not in m:
            m["timestamp"] = now


def tool_call_summaries(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per resolved tool result, anchored to the assistant message that asked."""
    calls: dict[str, tuple[int, dict[str, Any]]] = {}
    summaries = []
    for index, m in enumerate(messages):
        if not isinstance(m, dict):
            continue
        if m.get("role") == "assistant":
            for call in m.get("tool_calls") or ():
                if isinstance(call, dict) and call.get("id"):
                    calls[call["id"]] = (index, call)
        elif m.get("role") == "tool" and m.get("tool_call_id") in calls:
            index_of_call, call = calls[m["tool_call_id"]]
            function = call.get("function") or {}
            summaries.append(
                {
                    "name": function.get("name") or m.get("name"),
                    "snippet": message_text(m.get("content"))[:SNIPPET_CHARS],
                    "tid": m["tool_call_id"],
                    "assistant_msg_idx": index_of_call,
                    "args": _args(function.get("arguments")),
                }
            )
    return summaries


def _args(raw: Any) -> dict[str, str]:
    try:
        parsed = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    return {str(k): str(v)[:ARG_CHARS] for k, v in list(parsed.items())[:6]}
