"""The session dict, and the usage and info objects the client is sent about it.

A session dict holds one open conversation:

    agent            the AIAgent (its `session_id` is the store id it records under)
    session_key      the store id the gateway believes current (see server docs)
    history          the model's context, OpenAI-style messages
    history_lock     guards history, history_version and running
    history_version  bumped on every change of history, so a turn that finished after an
                     undo or a compression cannot overwrite it with a stale copy
    running          a turn or a compression is in flight
    cols             the client's terminal width, for rendered text
    pending_title    a title set before the store row exists (the agent creates it lazily,
                     on the first turn); applied after the next completed turn

Usage and info read the agent with defaults, so any agent-like object will do.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from tui_gateway.rpc import SESSION_BUSY, RpcError

DEFAULT_COLS = 80


def new_session(agent: Any, cols: int = DEFAULT_COLS, history: list | None = None) -> dict:
    return {
        "agent": agent,
        "session_key": agent.session_id,
        "history": list(history or ()),
        "history_lock": threading.Lock(),
        "history_version": 0,
        "running": False,
        "cols": cols,
        "pending_title": None,
        "created_at": time.time(),
    }


def refuse_if_running(session: dict[str, Any], action: str) -> None:
    """Refuse `action` while a turn or a compression runs (call with history_lock held)."""
    if session["running"]:
        raise RpcError(SESSION_BUSY, f"session busy: interrupt the current turn before {action}")


def usage_of(agent: Any) -> dict[str, Any]:
    """The session's running totals since it was opened here, and how full the context is."""
    from hermes_agent.usage import session_usage  # loaded with the first session, not at start

    return session_usage(agent)


def info_of(sid: str, session: dict[str, Any]) -> dict[str, Any]:
    """What the client shows about a session: its ids, model, workspace, tools and usage."""
    agent = session.get("agent")
    context = getattr(agent, "tool_context", None)
    return {
        "session_id": sid,
        "session_key": session.get("session_key"),
        "model": getattr(agent, "model", "") or "",
        "provider": getattr(getattr(agent, "provider", None), "name", "") or "",
        "cwd": str(getattr(context, "workspace", "") or ""),
        "tools": [tool.name for tool in getattr(agent, "tools", ()) or ()],
        "running": bool(session.get("running")),
        "usage": usage_of(agent),
    }
