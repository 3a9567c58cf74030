"""The messages of a web turn, for the model and for the page.

The web session keeps two histories: `messages`, what the user sees (every prompt ever sent,
error markers included), and `context_messages`, what the model sees (possibly compressed).
A turn's `TurnResult` says what it added (`new_messages`) and what the model continues from
(`context`); these helpers shape them for the session file. Messages keep their state.db row
id (`ROW_ID`), which later edits and catch-ups go by.
"""

from __future__ import annotations

import json
import time
from typing import Any

from api.models import is_marker, message_text
from hermes_agent.compression import SUMMARY_FLAG
from hermes_agent.turn import ROW_ID, TurnResult

CONTEXT_KEYS = ("role", "content", "tool_calls", "tool_call_id", "name", ROW_ID)
SNIPPET_CHARS = 200
ARG_CHARS = 120


def api_history(messages: list[Any]) -> list[dict[str, Any]]:
    """The model's view: no error markers, API keys (and row ids) only, no tool result
    without its call."""
    declared = {
        call.get("id")
        for m in messages
        if isinstance(m, dict) and m.get("role") == "assistant"
        for call in m.get("tool_calls") or ()
        if isinstance(call, dict)
    }
    history = []
    for m in messages:
        if not isinstance(m, dict) or not m.get("role") or is_marker(m):
            continue
        if m["role"] == "tool" and m.get("tool_call_id") not in declared:
            continue
        history.append({k: v for k, v in m.items() if k in CONTEXT_KEYS})
    return history


def shown_messages(
    result: TurnResult, attachments: list | None, reasoning: str, started: float | None
) -> list[dict[str, Any]]:
    """The turn's messages as the page shows them: the user's with its attachments' names,
    the answer with the reasoning streamed for it, each with a time."""
    messages = [dict(m) for m in result.new_messages]
    user = next((m for m in messages if m["role"] == "user" and not m.get(SUMMARY_FLAG)), None)
    if attachments and user is not None:
        user["attachments"] = attachment_names(attachments)
    if reasoning.strip():
        answer = next((m for m in reversed(messages) if m.get("role") == "assistant"), None)
        if answer is not None:
            answer.setdefault("reasoning", reasoning)
    stamp(messages, started)
    return messages


def attachment_names(attachments: list) -> list:
    """What a message shows of its attachments: an uploaded file's description (the page
    shows and links it by id), or the name of any other."""
    return [(a if "id" in a else a.get("name")) if isinstance(a, dict) else a for a in attachments]


def stamp(messages: list[dict[str, Any]], when: float | None = None) -> None:
    """Give messages without a time one, so the sidebar and the UI can order them."""
    now = int(when or time.time())
    for m in messages:
        if "timestamp" not in m and "_ts" not in m:
            m["timestamp"] = now


def linked_rows(messages: list[Any]) -> set[int]:
    """The state.db row ids these messages are linked to."""
    return {m[ROW_ID] for m in messages if isinstance(m, dict) and isinstance(m.get(ROW_ID), int)}


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
