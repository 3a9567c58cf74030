"""The `memory` tool: the agent adds, replaces and removes entries of its two memory files.

Named and shaped as hermes-agent's, so prompts and skills written for it work here:
`memory(action, target, content?, old_text?)`. The reply shows the file as it now is and how
full it is; an entry that reads like an instruction carries a warning for the user.
"""

from __future__ import annotations

from typing import Any

from hermes_agent.errors import ToolError
from hermes_agent.memory import TARGETS, MemoryStore
from hermes_agent.tools.registry import Tool, ToolContext

ACTIONS = ("add", "replace", "remove")


def memory_store() -> MemoryStore:
    from hermes_agent.settings import hermes_home

    return MemoryStore(hermes_home() / "memories")


def memory(args: dict[str, Any], _ctx: ToolContext) -> str:
    action, target = args.get("action"), args.get("target", "memory")
    if action not in ACTIONS:
        raise ToolError(f"action must be one of: {', '.join(ACTIONS)}")
    store = memory_store()
    if action == "add":
        written = store.add(target, args.get("content"))
    elif action == "replace":
        written = store.replace(target, args.get("old_text"), args.get("content"))
    else:
        written = store.remove(target, args.get("old_text"))
    if written.warning:
        return f"{written.reply}\n\n⚠ Shown to the user: {written.warning}"
    return written.reply


# The `hermes_station.tools` entry point `memory` (see pyproject.toml).
MEMORY = Tool(
    "memory",
    "Keep a note across conversations: `add` an entry, `replace` or `remove` one named by a "
    "short unique part of it (`old_text`). Target `memory` is for your own notes (the "
    "environment, conventions, lessons learnt); `user` for what you learn of the user "
    "(preferences, style). Keep entries short: each file has a character limit. Saved notes "
    "show in the system prompt from the next conversation on.",
    {
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": list(ACTIONS)},
            "target": {"type": "string", "enum": list(TARGETS)},
            "content": {"type": "string", "description": "The entry (add, replace)."},
            "old_text": {"type": "string", "description": "Part of the entry to change."},
        },
        "required": ["action", "target"],
    },
    memory,
)
