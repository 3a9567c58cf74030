"""Search of web sessions by title and by message text."""

from __future__ import annotations

from typing import Any

from api import models
from api.config import CACHE
from api.models import all_sessions, message_text
from api.storage import JSONDecodeError, loads
from api.transcripts import snippet

_JSON_ESCAPED = frozenset('"\\') | {chr(c) for c in range(0x20)}


def search_sessions(
    query: str,
    content: bool = True,
    depth: int = 0,
    limit: int = 50,
    rows: list[dict[str, Any]] | None = None,
) -> list:
    """Rows whose title contains `query`, then rows whose messages do (case-insensitive).

    `depth` limits the content search to each session's first N messages (0 = all). A
    session file is parsed only if its raw bytes contain the query, which skips most files.
    `rows` narrows the search to those sidebar rows (already filtered); default: every one.
    """
    needle = query.strip().lower()
    results: list[dict[str, Any]] = []
    for row in all_sessions() if rows is None else rows:
        if len(results) >= limit:
            break
        if needle in (row.get("title") or "").lower():
            results.append({**row, "match_type": "title"})
            continue
        if content:
            found = _content_match(row["session_id"], needle, depth)
            if found is not None:
                results.append({**row, "match_type": "content", "snippet": found})
    return results


def _content_match(sid: str, needle: str, depth: int) -> str | None:
    messages = _messages_of(sid, needle)
    if not messages:
        return None
    for message in messages[:depth] if depth > 0 else messages:
        if isinstance(message, dict):
            text = message_text(message.get("content"))
            for found in (text, *_file_texts(message)):
                if needle in found.lower():
                    return snippet(found, needle)
    return None


def _file_texts(message: dict[str, Any]) -> list[str]:
    """What search finds a message's files by: their names, and the start of their text
    (kept on the message's file parts when it was sent)."""
    content = message.get("content")
    parts = [p for p in content if isinstance(p, dict)] if isinstance(content, list) else []
    read = [str(p.get("text", "")) for p in parts if p.get("type") == "attachment"]
    shown = [a for a in message.get("attachments") or () if isinstance(a, dict)]
    return read or [str(a.get("filename", "")) for a in shown]


def _messages_of(sid: str, needle: str) -> list | None:
    cached = CACHE.peek(sid)
    if cached is not None:
        return cached.messages
    path = models.SESSION_DIR / f"{sid}.json"
    try:
        raw = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return None
    plain_needle = not (_JSON_ESCAPED & set(needle)) and needle.isascii()
    if plain_needle and needle.encode() not in raw.lower():
        return None
    try:
        data = loads(raw)
    except JSONDecodeError:
        return None
    messages = data.get("messages") if isinstance(data, dict) else None
    return messages if isinstance(messages, list) else None
