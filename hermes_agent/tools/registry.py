"""Tools the model may call: a name, a JSON schema, and a handler that returns text.

Tools are plugins: every entry point of the `hermes_station.tools` group names a `Tool` or a
tuple of them (the built-ins are entry points of this distribution; see
`hermes_agent.plugins`), so the settings' `enabled_tools` choose among whatever is installed.

Handlers raise `ToolError` for anything the model should hear about (a bad path, a denied
command); the registry turns that, bad JSON arguments and unknown tools into an error result
for the model, so no tool failure can end a turn.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hermes_agent.errors import ToolError
from hermes_agent.plugins import Registry
from hermes_agent.tools.approval import ApprovalPolicy

log = logging.getLogger(__name__)

MAX_OUTPUT_CHARS = 50_000

# (command, reason) -> "once" | "session" | "always" | "deny", or None: nobody to ask
ApprovalCallback = Callable[[str, str], str | None]


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
    session_id: str = ""  # the conversation the call is made in (recall leaves it out)
    # (task, context, tool names or None for the default) -> the sub-agent's answer; set by
    # the agent for each turn, None where no sub-agent can be run (see hermes_agent.delegation)
    delegate: Callable[[str, str, tuple[str, ...] | None], str] | None = None

    def require_approval(
        self, request: str, reason: str, *, subject: str, key: str | None = None
    ) -> None:
        """Ask the user to allow `request` (a command, or `write <path>`), unless they already
        did for this session; raise ToolError unless they allow it. `subject` names it in
        refusals: "this command", "writing .git/config". `key` is what an approval "for this
        session" covers (by default the request itself)."""
        key = request if key is None else key
        if key in self.session_approved:
            return
        choice = self.ask_approval(request, reason) if self.ask_approval else None
        if choice is None:
            raise ToolError(f"{subject} needs the user's approval, and no one can be asked")
        if choice == "session":
            self.session_approved.add(key)
        elif choice not in ("once", "always"):
            raise ToolError(f"the user denied {subject}")


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


TOOLS: Registry[Tool] = Registry("hermes_station.tools", Tool)


def tool_names() -> tuple[str, ...]:
    """Every installed tool's name: what `enabled_tools` may list, and its default."""
    return TOOLS.names()


def tools_named(names: tuple[str, ...] | list[str]) -> list[Tool]:
    unknown = [n for n in names if n not in TOOLS]
    if unknown:
        raise ToolError(f"Unknown tools: {', '.join(unknown)}")
    return [TOOLS[n] for n in names]


def run_tool(
    name: str, raw_arguments: str, ctx: ToolContext, offered: Mapping[str, Tool] | None = None
) -> tuple[str, bool]:
    """Run one call; return (output for the model, whether it is an error).

    `offered` (by name) are the tools the model was given, and the only ones it may run: a
    tool left out of `enabled_tools` must not run because the model guessed its name.
    Without it, any installed tool runs.
    """
    try:
        tool = TOOLS.get(name) if offered is None else offered.get(name)
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
