"""How messages are stored and read back: content encoding, row values, conversation shape.

Kept apart from the store so the mapping between a message dict and its `messages` row (the
`"\\x00json:"` sentinel for structured content, the JSON columns, the OpenAI chat shape of a
transcript) is pure code that can be read and tested without a database.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from typing import Any

ROW_ID = "_row_id"  # the key under which a message dict carries its row's id

# The whole package logs as "hermes_state", the name log configuration and filters refer to.
log = logging.getLogger("hermes_state")

JSON_PREFIX = "\x00json:"


# -- content encoding -------------------------------------------------------------------------

_MESSAGE_COLUMNS = (
    "session_id",
    "timestamp",
    "role",
    "content",
    "tool_call_id",
    "tool_calls",
    "tool_name",
    "token_count",
    "finish_reason",
    "reasoning",
    "reasoning_content",
    "reasoning_details",
    "codex_reasoning_items",
    "codex_message_items",
)
_JSON_COLUMNS = ("tool_calls", "reasoning_details", "codex_reasoning_items", "codex_message_items")
_ASSISTANT_EXTRAS = (
    "finish_reason",
    "reasoning",
    "reasoning_content",
    "reasoning_details",
    "codex_reasoning_items",
    "codex_message_items",
)
_INSERT_MESSAGE = (
    f"INSERT INTO messages ({', '.join(_MESSAGE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_MESSAGE_COLUMNS))})"
)


def encode_content(content: Any) -> Any:
    """Lists and dicts (and strings that look encoded) become the JSON sentinel form."""
    if isinstance(content, list | dict) or (
        isinstance(content, str) and content.startswith(JSON_PREFIX)
    ):
        return JSON_PREFIX + json.dumps(content, ensure_ascii=False)
    return content


def decode_content(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(JSON_PREFIX):
        try:
            return json.loads(value[len(JSON_PREFIX) :])
        except ValueError:
            log.warning("undecodable structured message content kept as text")
    return value


def content_text(content: Any) -> str:
    """The readable text of message content: structured parts contribute their text fields."""
    if content is None:
        return ""
    if isinstance(content, dict):
        return str(content.get("text") or "")
    if isinstance(content, list):
        texts = (
            part.get("text") if isinstance(part, dict) else part
            for part in content
            if isinstance(part, dict | str)
        )
        return " ".join(str(t) for t in texts if t)
    return str(content)


def _loads(value: str | None, default: Any = None) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return default


def _tool_call_total(tool_calls: Any) -> int:
    if tool_calls is None:
        return 0
    return len(tool_calls) if isinstance(tool_calls, list) else 1


def _message_values(session_id: str, message: dict[str, Any], timestamp: float) -> tuple:
    values: dict[str, Any] = {"session_id": session_id, "timestamp": timestamp}
    for column in _MESSAGE_COLUMNS[2:]:
        value = message.get(column)
        if column == "content":
            value = encode_content(value)
        elif column in _JSON_COLUMNS:
            value = json.dumps(value, ensure_ascii=False) if value else None
        values[column] = value
    return tuple(values[c] for c in _MESSAGE_COLUMNS)


def _decode_message(row: sqlite3.Row) -> dict[str, Any]:
    message = dict(row)
    message["content"] = decode_content(message["content"])
    message["tool_calls"] = _loads(message["tool_calls"], default=[])
    for column in _JSON_COLUMNS[1:]:
        message[column] = _loads(message[column])
    return message


def _conversation_entry(message: dict[str, Any], *, with_row_id: bool = False) -> dict[str, Any]:
    """One message in the OpenAI chat shape, carrying only the fields that are set (and its
    row id under `ROW_ID` when asked)."""
    role, content = message["role"], message["content"]
    if role in ("user", "assistant") and isinstance(content, str):
        content = content.strip()
    entry: dict[str, Any] = {"role": role, "content": content}
    for key in ("tool_call_id", "tool_name", "tool_calls"):
        if message[key]:
            entry[key] = message[key]
    if role == "assistant":
        for key in _ASSISTANT_EXTRAS:
            if message[key] is not None:
                entry[key] = message[key]
    if with_row_id:
        entry[ROW_ID] = message["id"]
    return entry


def _drop_repeated_user_turns(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A continuation re-records the user turn that triggered compression; keep one copy."""
    kept: list[dict[str, Any]] = []
    last_user: Any = None
    for message in messages:
        if message["role"] == "user":
            if last_user is not None and message["content"] == last_user:
                continue
            last_user = message["content"]
        elif message["role"] == "assistant" and message["content"]:
            last_user = None
        kept.append(message)
    return kept
