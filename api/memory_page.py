"""The agent's memory as the browser shows and edits it: both files with their entries, the
text to edit (entries joined by lines holding `§`) and how full each is.

The user's own edit is trusted: it is not checked for instructions or invisible characters
as the agent's writes are, since nobody but the user wrote it. Two rules still hold. The
file's limit, because memory is part of every conversation's prompt: an edit past it is
refused, saying by how much, and nothing changes. And keys are masked as in every reply of
the API: the page shows masked text, so saving it back would store the stub anyway, and
memory is sent to the provider with every conversation.
"""

from __future__ import annotations

from typing import Any

from hermes_agent.errors import BadRequest
from hermes_agent.memory import SEPARATOR, TARGETS, MemoryStore, split_entries
from hermes_agent.redaction import redact, redact_text


def view(store: MemoryStore, enabled: bool) -> dict[str, Any]:
    """Both files, and whether the `memory` setting has conversations use them."""
    return {"enabled": enabled, **{target: memory_file(store, target) for target in TARGETS}}


def memory_file(store: MemoryStore, target: str) -> dict[str, Any]:
    entries = store.entries(target)
    text = SEPARATOR.join(entries)
    name, limit = TARGETS[target]
    shown = {"target": target, "file": name, "entries": entries, "text": text}
    return redact(shown) | {"used": len(text), "limit": limit}


def save(store: MemoryStore, target: str, text: str) -> dict[str, Any]:
    """Replace a file with the user's text; BadRequest, changing nothing, past its limit."""
    text = redact_text(text)
    used = len(SEPARATOR.join(split_entries(text)))
    name, limit = TARGETS[target]
    if used > limit:
        raise BadRequest(
            f"{name} would hold {used:,} of its {limit:,} characters: {used - limit:,} too "
            "many. Nothing was saved.",
            used=used,
            limit=limit,
            over=used - limit,
        )
    store.write_whole(target, text)
    return memory_file(store, target)


def clear(store: MemoryStore, target: str | None) -> None:
    for each in [target] if target else list(TARGETS):
        store.write_whole(each, "")
