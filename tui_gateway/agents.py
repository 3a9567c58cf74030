"""One AIAgent per live session, wired to send its activity to the client as events.

Settings, the provider and state.db are the process's shared ones (`api.agent_runtime`),
read once; the agent records under source "tui" in the same state.db as every surface, so a
terminal conversation can be found and searched from the others. `config.set model` changes
the model of sessions opened afterwards (`default_model`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from tui_gateway import server
from tui_gateway.rpc import AGENT_INIT_FAILED, RpcError

PLATFORM = "tui"

log = logging.getLogger("tui_gateway")

_default_model: str | None = None


def default_model() -> str:
    from hermes_agent.runtime import current_settings

    return _default_model or current_settings().effective_model


def set_default_model(model: str) -> None:
    global _default_model
    _default_model = model


def warm_up() -> None:
    """Read the settings, load the provider (its SDK is the slowest import) and open the
    store before the first session asks; a problem is reported then, by `session.create`."""
    from hermes_agent.errors import HermesError
    from hermes_agent.runtime import current_settings, shared_provider

    server._get_db()
    try:
        current_settings()
        shared_provider()
    except HermesError as exc:
        log.info("provider not loaded ahead: %s", exc)


def build_agent(sid: str, *, session_id: str | None = None, model: str | None = None) -> Any:
    """An agent for live session `sid`, continuing store session `session_id` if given."""
    from hermes_agent import AIAgent
    from hermes_agent.errors import HermesError
    from hermes_agent.runtime import current_settings, shared_provider
    from tui_gateway import approvals

    events = AgentEvents(sid)
    try:
        return AIAgent.from_settings(
            current_settings(),
            provider=shared_provider(),
            model=model or default_model(),
            session_id=session_id,
            session_db=server._get_db(),
            platform=PLATFORM,
            workspace=Path.cwd(),
            reasoning_callback=events.reasoning,
            tool_progress_callback=events.tool,
            status_callback=events.status,
            approval_callback=lambda command, reason: approvals.ask(sid, command, reason),
        )
    except HermesError as exc:
        raise RpcError(AGENT_INIT_FAILED, f"agent init failed: {exc}") from None


class AgentEvents:
    """The agent's callbacks for one session, as `reasoning.delta`, `tool.*` and
    `status.update` events. Tools run one at a time, so the open call is the one that
    completes next; ids are numbered per session."""

    def __init__(self, sid: str) -> None:
        self.sid = sid
        self._calls = 0
        self._open: str | None = None

    def reasoning(self, text: str) -> None:
        server._emit("reasoning.delta", self.sid, {"text": text})

    def status(self, kind: str, text: str | None = None) -> None:
        server._emit("status.update", self.sid, {"kind": kind, "text": text})

    def tool(self, event: str, name: str, preview: Any = None, args: Any = None, **kw: Any) -> None:
        if event == "tool.started":
            self._open = self._next_id()
            payload = {"tool_id": self._open, "name": name, "preview": preview, "args": args}
            server._emit("tool.start", self.sid, payload)
        elif event == "tool.completed":
            tool_id, self._open = self._open or self._next_id(), None
            payload = {
                "tool_id": tool_id,
                "name": name,
                "duration_s": kw.get("duration"),
                "is_error": bool(kw.get("is_error")),
            }
            server._emit("tool.complete", self.sid, payload)

    def _next_id(self) -> str:
        self._calls += 1
        return f"tool_{self._calls}"
