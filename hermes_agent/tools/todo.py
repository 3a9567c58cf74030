"""A task list the model keeps for itself during a turn or a session."""

from __future__ import annotations

import json
from typing import Any

from hermes_agent.errors import ToolError
from hermes_agent.tools.registry import Tool, ToolContext

STATUSES = ("pending", "in_progress", "done")


def todo(args: dict[str, Any], ctx: ToolContext) -> str:
    items = args.get("todos")
    if items is not None:
        if not isinstance(items, list):
            raise ToolError("todos must be a list")
        clean = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("content"), str):
                raise ToolError("each todo needs a content string")
            status = item.get("status", "pending")
            if status not in STATUSES:
                raise ToolError(f"status must be one of {', '.join(STATUSES)}")
            clean.append({"content": item["content"], "status": status})
        ctx.todos[:] = clean
    return json.dumps(ctx.todos)


# The `hermes_station.tools` entry point `todo` (see pyproject.toml).
TODO = Tool(
    "todo",
    "Read the task list, or replace it by passing todos.",
    {
        "type": "object",
        "properties": {
            "todos": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "content": {"type": "string"},
                        "status": {"type": "string", "enum": list(STATUSES)},
                    },
                    "required": ["content"],
                },
            }
        },
        "required": [],
    },
    todo,
)
