"""The agent side of the web server: one agent per session, on the process's shared runtime.

Settings, the provider and state.db come from `hermes_agent.runtime`. Agents are cached per
session so a conversation keeps its tool state (approvals for the session, the task list)
from turn to turn, and are dropped whenever the settings change.
"""

from __future__ import annotations

import collections
import logging
import threading
from pathlib import Path
from typing import Any

from api import config, workspaces
from hermes_agent import runtime
from hermes_agent.errors import HermesError
from hermes_agent.runtime import current_settings, shared_provider, state_db, store_health
from hermes_agent.settings import Settings, hermes_home

log = logging.getLogger(__name__)

__all__ = [
    "agent_for",
    "current_settings",
    "evict_agent",
    "mirror_title",
    "new_agent",
    "rekey_agent",
    "reload_settings",
    "shared_provider",
    "state_db",
    "store_health",
]

SESSION_AGENT_CACHE_MAX = 50

SESSION_AGENT_CACHE: collections.OrderedDict[str, Any] = collections.OrderedDict()
SESSION_AGENT_CACHE_LOCK = threading.Lock()


def reload_settings() -> Settings:
    """Read the settings again and drop every cached agent built from the old ones."""
    fresh = runtime.reload_settings()
    with SESSION_AGENT_CACHE_LOCK:
        SESSION_AGENT_CACHE.clear()
    return fresh


def agent_for(session_id: str, model: str, workspace: str) -> Any:
    """The session's cached agent, or a new one when the model or workspace changed."""
    settings = current_settings()
    effective = model or settings.effective_model
    key = (effective, workspace)
    with SESSION_AGENT_CACHE_LOCK:
        cached = SESSION_AGENT_CACHE.get(session_id)
        if cached is not None and cached[1] == key:
            SESSION_AGENT_CACHE.move_to_end(session_id)
            return cached[0]
    agent = new_agent(settings, effective, workspace, session_id=session_id, session_db=state_db())
    with SESSION_AGENT_CACHE_LOCK:
        SESSION_AGENT_CACHE[session_id] = (agent, key)
        SESSION_AGENT_CACHE.move_to_end(session_id)
        while len(SESSION_AGENT_CACHE) > SESSION_AGENT_CACHE_MAX:
            SESSION_AGENT_CACHE.popitem(last=False)
    return agent


def new_agent(settings: Settings, model: str, workspace: str, **options: Any) -> Any:
    """An agent of the web server: in `workspace` (the default one made on first use), with
    the Hermes home and the web server's own state out of its tools' reach."""
    from hermes_agent import AIAgent

    return AIAgent.from_settings(
        settings,
        provider=shared_provider(),
        model=model,
        platform="web",
        workspace=workspaces.ready(workspace),
        protected_paths=protected_paths(),
        **options,
    )


def protected_paths() -> tuple[Path, ...]:
    """What no file tool, nor the web UI's workspace routes, may reach: the Hermes home (the
    settings, keys and databases) and the web server's own state directory."""
    return (hermes_home(), config.STATE_DIR)


def evict_agent(session_id: str) -> None:
    with SESSION_AGENT_CACHE_LOCK:
        SESSION_AGENT_CACHE.pop(session_id, None)


def rekey_agent(old_id: str, new_id: str) -> None:
    """Follow a compression rotation: the agent stays cached under the session's new id."""
    with SESSION_AGENT_CACHE_LOCK:
        entry = SESSION_AGENT_CACHE.pop(old_id, None)
        if entry is not None:
            SESSION_AGENT_CACHE[new_id] = entry


def mirror_title(session_id: str, title: str) -> None:
    """Copy a web session's title to its state.db row, so the terminal and chat apps find the
    conversation by title (`/resume <title>`). A title another conversation already holds
    there is left out: the id still finds this one."""
    db = state_db()
    if db is None:
        return
    try:
        db.set_session_title(session_id, title)
    except (ValueError, HermesError, OSError) as exc:
        log.info("title of %s not copied to state.db: %s", session_id, exc)
