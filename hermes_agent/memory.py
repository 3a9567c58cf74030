"""The agent's memory: two small files it keeps across conversations, shared by every surface.

`$HERMES_HOME/memories/MEMORY.md` holds the agent's notes (environment, conventions, lessons)
and `USER.md` what it learnt of the user (preferences, style). Entries are separated by a line
holding `§`. Each file has a character limit, so memory stays a cheap part of every prompt: a
write that would pass it is refused with the reason, never trimmed silently.

Memory is a path for prompt injection (a web page or a file can ask the agent to "remember"
an instruction), so an entry is checked before it is stored: keys and tokens are redacted
with the logs' rules, invisible characters are refused, and text that reads like an
instruction to the agent is stored with a warning the user sees. Writes hold an exclusive
lock on the folder's lock file and re-read the file under it, so the web server, the
terminal and the gateway never lose each other's entries; files are replaced atomically.
"""

from __future__ import annotations

import contextlib
import fcntl
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hermes_agent.durable import atomic_write
from hermes_agent.errors import ToolError
from hermes_agent.redaction import redact_text

SEPARATOR = "\n§\n"
# A line holding only `§` (and spaces) separates entries; a `§` within a line is text ("§3").
_SEPARATOR_LINE = re.compile(r"^[ \t]*§[ \t]*$", re.MULTILINE)
TARGETS = {"memory": ("MEMORY.md", 2200), "user": ("USER.md", 1375)}
TITLES = {"memory": "Memory (your notes)", "user": "About the user"}
# Zero-width and direction controls hide text from the person reading the file.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget)\b.{0,40}\b(previous|prior|above|earlier|all)\b"
    r".{0,40}\b(instructions?|prompts?|rules?)\b"
    r"|\byou (must|should) (always|never)\b|\bsystem prompt\b|\bnew instructions?\b",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True)
class Written:
    """A write's outcome: what the model is told, and a warning for the user, if any."""

    reply: str
    warning: str | None = None


class MemoryStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def entries(self, target: str) -> list[str]:
        text = self._path(target).read_text(encoding="utf-8") if self._exists(target) else ""
        return split_entries(text)

    def add(self, target: str, content: str) -> Written:
        entry, warning = _checked(content)
        with self._editing(target) as entries:
            if entry in entries:
                raise ToolError(f"that entry is already in {target}")
            entries.append(entry)
        return Written(f"Added to {target}.\n\n{self.state(target)}", warning)

    def replace(self, target: str, old_text: str, content: str) -> Written:
        entry, warning = _checked(content)
        with self._editing(target) as entries:
            entries[_only_match(entries, old_text, target)] = entry
        return Written(f"Replaced in {target}.\n\n{self.state(target)}", warning)

    def remove(self, target: str, old_text: str) -> Written:
        with self._editing(target) as entries:
            del entries[_only_match(entries, old_text, target)]
        return Written(f"Removed from {target}.\n\n{self.state(target)}")

    def state(self, target: str) -> str:
        """The file as the model sees it, headed by how full it is."""
        entries = self.entries(target)
        return f"## {TITLES[target]} {_fill(entries, target)}\n" + (
            SEPARATOR.join(entries) if entries else "(empty)"
        )

    def snapshot(self) -> str:
        """Both files, for a conversation's system prompt; "" when both are empty."""
        blocks = [self.state(t) for t in TARGETS if self.entries(t)]
        return "\n\n".join(blocks)

    def write_whole(self, target: str, text: str) -> None:
        """Replace a file with text the user edited (their own words: no checks but size)."""
        entries = split_entries(text)
        with self._editing(target) as current:
            current[:] = entries

    # -- files -----------------------------------------------------------------------------

    def _path(self, target: str) -> Path:
        if target not in TARGETS:
            raise ToolError(f"target must be one of: {', '.join(TARGETS)}")
        return self.folder / TARGETS[target][0]

    def _exists(self, target: str) -> bool:
        return self._path(target).is_file()

    @contextlib.contextmanager
    def _editing(self, target: str) -> Iterator[list[str]]:
        """The file's entries, to change in the block; written if they fit the limit."""
        path = self._path(target)
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.folder / ".lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            entries = self.entries(target)
            yield entries
            text = SEPARATOR.join(entries)
            limit = TARGETS[target][1]
            if len(text) > limit:
                raise ToolError(
                    f"{target} would hold {len(text):,} of its {limit:,} characters: remove or "
                    "shorten entries first (nothing was changed)"
                )
            atomic_write(path, (text + "\n").encode() if text else b"")


def split_entries(text: str) -> list[str]:
    """The entries of a memory file's text: the parts between lines holding only `§`."""
    return [e.strip() for e in _SEPARATOR_LINE.split(text) if e.strip()]


def _checked(content: object) -> tuple[str, str | None]:
    if not isinstance(content, str) or not content.strip():
        raise ToolError("content must be a non-empty string")
    if _INVISIBLE.search(content) or any(
        unicodedata.category(c) == "Cc" and c not in "\n\t" for c in content
    ):
        raise ToolError("content holds invisible or control characters; write it plainly")
    entry = redact_text(content.strip())
    if _SEPARATOR_LINE.search(entry):
        raise ToolError("an entry cannot hold a line with only §, which separates entries")
    warning = None
    if _INSTRUCTION.search(entry):
        warning = f"A memory entry reads like an instruction to the agent: “{entry[:120]}”"
    return entry, warning


def _only_match(entries: list[str], old_text: object, target: str) -> int:
    if not isinstance(old_text, str) or not old_text.strip():
        raise ToolError("old_text must name the entry by a short unique part of it")
    found = [i for i, e in enumerate(entries) if old_text.strip() in e]
    if not found:
        raise ToolError(f"no entry in {target} contains {old_text!r}")
    if len(found) > 1:
        raise ToolError(f"{len(found)} entries in {target} contain {old_text!r}: be more precise")
    return found[0]


def _fill(entries: list[str], target: str) -> str:
    used, limit = len(SEPARATOR.join(entries)), TARGETS[target][1]
    return f"[{round(100 * used / limit)}% — {used:,}/{limit:,} chars]"
