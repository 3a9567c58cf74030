"""Tools the model may call: a name, a JSON schema, and a handler that returns text.

Handlers raise `ToolError` for anything the model should hear about (a bad path, a denied
command); the registry turns that, bad JSON arguments and unknown tools into an error result
for the model, so no tool failure can end a turn.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hermes_agent.errors import ToolError
from hermes_agent.tools.approval import ApprovalPolicy

log = logging.getLogger(__name__)

MAX_OUTPUT_CHARS = 50_000

# (command, reason) -> "once" | "session" | "always" | "deny"
ApprovalCallback = Callable[[str, str], str]


@dataclass
class ToolContext:
    """What a tool call may use. The policy is frozen: no tool can loosen it."""

    workspace: Path
    approval: ApprovalPolicy
    ask_approval: ApprovalCallback | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    protected_paths: tuple[Path, ...] = ()
    session_approved: set[str] = field(default_factory=set)
    todos: list[dict[str, Any]] = field(default_factory=list)
    terminal_timeout: float = 60.0


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    handler: Callable[[dict[str, Any], ToolContext], str]

    def schema(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


REGISTRY: dict[str, Tool] = {}


def register(tool: Tool) -> Tool:
    REGISTRY[tool.name] = tool
    return tool


def tools_named(names: tuple[str, ...] | list[str]) -> list[Tool]:
    _load_builtin_tools()
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise ToolError(f"Unknown tools: {', '.join(unknown)}")
    return [REGISTRY[n] for n in names]


def run_tool(name: str, raw_arguments: str, ctx: ToolContext) -> tuple[str, bool]:
    """Run one call; return (output for the model, whether it is an error)."""
    _load_builtin_tools()
    try:
        tool = REGISTRY.get(name)
        if tool is None:
            raise ToolError(f"there is no tool named {name!r}")
        return _capped(tool.handler(_arguments(raw_arguments), ctx)), False
    except ToolError as exc:
        return f"Error: {exc}", True
    except (TypeError, KeyError, ValueError) as exc:
        return f"Error: bad arguments for {name}: {exc}", True
    except OSError as exc:
        return f"Error: {exc.strerror or exc}", True


def _arguments(raw: str) -> dict[str, Any]:
    try:
        arguments = json.loads(raw or "{}")
    except json.JSONDecodeError as exc:
        raise ToolError(f"the arguments are not valid JSON ({exc})") from None
    if not isinstance(arguments, dict):
        raise ToolError("the arguments must be a JSON object")
    return arguments


def _capped(text: str) -> str:
    if len(text) <= MAX_OUTPUT_CHARS:
        return text
    dropped = len(text) - MAX_OUTPUT_CHARS
    return text[:MAX_OUTPUT_CHARS] + f"\n… [{dropped} more characters not shown]"


def _load_builtin_tools() -> None:
    from hermes_agent.tools import files, terminal, todo  # noqa: F401 - registration
