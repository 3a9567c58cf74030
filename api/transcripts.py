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
        names = (a.get("filename", "file") if isinstance(a, dict) else str(a) for a in attachments)
        lines += ["", "Attachments: " + ", ".join(names)]
    return lines


SNIPPET_WIDTH = 80
SNIPPET_BEFORE = 24
"""Characters of context before a match: the sidebar shows a snippet on two narrow lines,
and the match must land on them."""


def snippet(text: str, needle: str, width: int = SNIPPET_WIDTH) -> str:
    """About `width` characters of `text` around the first case-insensitive `needle`.

    The match is whole, after up to `SNIPPET_BEFORE` characters of context, and the rest is
    what follows it; both ends are cut at spaces where there are any, whitespace is collapsed
    and "…" marks where the text was cut.
    """
    flat = " ".join(text.split())
    found = _find(flat, " ".join(needle.lower().split()))
    if found is None:
        return flat[:width] + ("…" if len(flat) > width else "")
    start, end = found
    low = max(0, start - SNIPPET_BEFORE)
    high = min(len(flat), max(end, low + width))
    if low > 0 and flat[low - 1] != " ":  # a word cut at the start: drop its end
        space = flat.find(" ", low, start)
        low = space + 1 if space >= 0 else low
    if high < len(flat) and flat[high] != " ":  # and a word cut at the end
        space = flat.rfind(" ", end, high)
        high = space if space >= 0 else high
    prefix = "…" if low > 0 else ""
    suffix = "…" if high < len(flat) else ""
    return prefix + flat[low:high].strip() + suffix


def _find(text: str, needle: str) -> tuple[int, int] | None:
    """Where `needle` (lower case) is in `text` ignoring case, as indices of `text`: some
    letters are longer in lower case ("İ" is two characters), which shifts the indices of
    `text.lower()` past them."""
    lowered = text.lower()
    at = lowered.find(needle)
    if at < 0 or not needle:
        return None
    if len(lowered) == len(text):
        return at, at + len(needle)
    origin = [i for i, char in enumerate(text) for _ in char.lower()]
    return origin[at], origin[at + len(needle) - 1] + 1
