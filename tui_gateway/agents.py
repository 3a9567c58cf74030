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

from hermes_agent.turn import TurnEvents
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

    try:
        return AIAgent.from_settings(
            current_settings(),
            provider=shared_provider(),
            model=model or default_model(),
            session_id=session_id,
            session_db=server._get_db(),
            platform=PLATFORM,
            workspace=Path.cwd(),
            events=AgentEvents(sid),
        )
    except HermesError as exc:
        raise RpcError(AGENT_INIT_FAILED, f"agent init failed: {exc}") from None


class AgentEvents(TurnEvents):
    """What one session's turns report, as `message.delta`, `reasoning.delta`, `tool.*`,
    `status.update` and `approval.request` events. Tools run one at a time, so the open call
    is the one that finishes next; ids are numbered per session."""

    def __init__(self, sid: str) -> None:
        self.sid = sid
        self._calls = 0
        self._open: str | None = None
        self._renderer: Any = None

    def start_answer(self, cols: int) -> None:
        """A new turn: its answer is rendered `cols` wide as it streams."""
        self._renderer = server.make_stream_renderer(cols)

    def token(self, text: str) -> None:
        payload = {"text": text}
        rendered = self._renderer.feed(text) if self._renderer is not None else None
        if rendered:
            payload["rendered"] = rendered
        server._emit("message.delta", self.sid, payload)

    def reasoning(self, text: str) -> None:
        server._emit("reasoning.delta", self.sid, {"text": text})

    def status(self, kind: str, text: str) -> None:
        server._emit("status.update", self.sid, {"kind": kind, "text": text})

    def tool_started(self, name: str, preview: str, args: dict[str, str]) -> None:
        self._open = self._next_id()
        payload = {"tool_id": self._open, "name": name, "preview": preview, "args": args}
        server._emit("tool.start", self.sid, payload)

    def tool_finished(self, name: str, duration: float, is_error: bool) -> None:
        tool_id, self._open = self._open or self._next_id(), None
        payload = {"tool_id": tool_id, "name": name, "duration_s": duration, "is_error": is_error}
        server._emit("tool.complete", self.sid, payload)

    def approve(self, request: str, reason: str) -> str:
        from tui_gateway import approvals

        return approvals.ask(self.sid, request, reason)

    def _next_id(self) -> str:
        self._calls += 1
        return f"tool_{self._calls}"
