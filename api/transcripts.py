"""Session transcripts for people: Markdown export and search snippets."""

from __future__ import annotations

import datetime as dt
from typing import Any

from api.models import Session, message_text

ROLE_HEADINGS = {"user": "User", "assistant": "Assistant", "system": "System", "tool": "Tool"}


def to_markdown(session: Session) -> str:
    """A readable transcript: a heading per turn, tool output fenced, error markers flagged."""
    created = dt.datetime.fromtimestamp(session.created_at, tz=dt.UTC).strftime("%Y-%m-%d %H:%M")
    lines = [f"# {session.title}", "", f"*{created} UTC · model: {session.model or 'default'}*"]
    for message in session.messages:
        if not isinstance(message, dict):
            continue
        lines += ["", *_message_lines(message)]
    return "\n".join(lines) + "\n"


def _message_lines(message: dict[str, Any]) -> list[str]:
    role = str(message.get("role") or "unknown")
    heading = ROLE_HEADINGS.get(role, role.capitalize())
    text = message_text(message.get("content")).strip()
    if message.get("_error"):
        heading += " (error)"
    elif message.get("_stopped"):
        heading += " (stopped)"
    if role == "tool":
        fence = "~~~~" if "```" in text else "```"
        return [f"### {heading}", "", fence, text, fence]
    lines = [f"## {heading}", ""]
    if message.get("reasoning"):
        quoted = "\n".join(f"> {line}" for line in str(message["reasoning"]).splitlines())
        lines += ["<details><summary>Reasoning</summary>", "", quoted, "", "</details>", ""]
    lines.append(text or "*(no text)*")
    attachments = message.get("attachments")
    if isinstance(attachments, list) and attachments:
        lines += ["", "Attachments: " + ", ".join(str(a) for a in attachments)]
    return lines


def snippet(text: str, needle: str, width: int = 80) -> str:
    """About `width` characters of `text` around the first case-insensitive `needle`."""
    at = text.lower().find(needle)
    if at < 0:
        return text[:width]
    start = max(0, at - width // 3)
    end = min(len(text), start + width)
    prefix = "…" if start else ""
    suffix = "…" if end < len(text) else ""
    return prefix + " ".join(text[start:end].split()) + suffix
