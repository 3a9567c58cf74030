"""`delegate_task(task, context?, tools?)`: hand a self-contained subtask to a sub-agent.

The sub-agent starts from a fresh history (the task, and the context when given) with a
subset of this agent's tools, and its final answer comes back as this call's result. The
running and the limits live in `hermes_agent.delegation`; the agent hands each turn's
context a `delegate` callable, so this module never imports the agent.
"""

from __future__ import annotations

from typing import Any

from hermes_agent.errors import ToolError
from hermes_agent.tools.registry import Tool, ToolContext

NAME = "delegate_task"


def delegate_task(args: dict[str, Any], ctx: ToolContext) -> str:
    task, context, tools = args.get("task"), args.get("context", ""), args.get("tools")
    if not isinstance(task, str) or not task.strip():
        raise ToolError("task must say what the sub-agent should do")
    if context is None:
        context = ""
    if not isinstance(context, str):
        raise ToolError("context must be text")
    if tools is not None and (
        not isinstance(tools, list) or not all(isinstance(name, str) for name in tools)
    ):
        raise ToolError("tools must be a list of tool names")
    if ctx.delegate is None:
        raise ToolError("no sub-agent can be started here")
    names = None if tools is None else tuple(dict.fromkeys(name.strip() for name in tools))
    return ctx.delegate(task.strip(), context.strip(), names)


# The `hermes_station.tools` entry point `delegate` (see pyproject.toml).
DELEGATE_TASK = Tool(
    NAME,
    "Hand a self-contained subtask to a sub-agent that works on it with its own, empty "
    "history and returns only its final answer, keeping the details out of this "
    "conversation. Say everything it needs in task and context: it sees nothing else.",
    {
        "type": "object",
        "properties": {
            "task": {"type": "string", "description": "What to do and what to answer with."},
            "context": {
                "type": "string",
                "description": "Facts, paths or constraints the sub-agent needs.",
            },
            "tools": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Names of your tools it may use (default: all of them).",
            },
        },
        "required": ["task"],
    },
    delegate_task,
)
