"""The agent side of the web server: settings, the shared state.db, and one agent per session.

Settings are read once and replaced only through `reload_settings` (the settings endpoint);
agents are cached per session so a conversation keeps its tool state (approvals for the
session, the task list) from turn to turn, and dropped whenever the settings change.
"""

from __future__ import annotations

import collections
import logging
import threading
from typing import Any

from hermes_agent.errors import HermesError
from hermes_agent.settings import Settings, load_settings

log = logging.getLogger(__name__)

SESSION_AGENT_CACHE_MAX = 50

_settings: Settings | None = None
_provider: Any = None  # shared by every session's agent: providers keep no per-chat state
_settings_lock = threading.Lock()
_state_db: Any = None
_state_db_lock = threading.Lock()
SESSION_AGENT_CACHE: collections.OrderedDict[str, Any] = collections.OrderedDict()
SESSION_AGENT_CACHE_LOCK = threading.Lock()


def current_settings() -> Settings:
    global _settings
    with _settings_lock:
        if _settings is None:
            _settings = load_settings()
        return _settings


def reload_settings() -> Settings:
    """Read the settings again and drop every cached agent built from the old ones."""
    global _settings, _provider
    fresh = load_settings()
    with _settings_lock:
        _settings, _provider = fresh, None
    with SESSION_AGENT_CACHE_LOCK:
        SESSION_AGENT_CACHE.clear()
    return fresh


def shared_provider() -> Any:
    """One provider (and so one HTTP client and connection pool) for all sessions."""
    global _provider
    from hermes_agent.providers import create_provider

    settings = current_settings()
    with _settings_lock:
        if _provider is None:
            _provider = create_provider(settings)
        return _provider


def state_db() -> Any:
    """The shared SessionDB, or None when it cannot be opened (runs still work, unrecorded)."""
    global _state_db
    with _state_db_lock:
        if _state_db is None:
            from hermes_state import SessionDB

            try:
                _state_db = SessionDB()
            except (HermesError, OSError) as exc:
                log.warning("state.db unavailable, web turns will not be recorded there: %s", exc)
                return None
        return _state_db


def agent_for(session_id: str, model: str, workspace: str) -> Any:
    """The session's cached agent, or a new one when the model or workspace changed."""
    from hermes_agent import AIAgent

    settings = current_settings()
    effective = model or settings.effective_model
    key = (effective, workspace)
    with SESSION_AGENT_CACHE_LOCK:
        cached = SESSION_AGENT_CACHE.get(session_id)
        if cached is not None and cached[1] == key:
            SESSION_AGENT_CACHE.move_to_end(session_id)
            return cached[0]
    agent = AIAgent.from_settings(
        settings,
        provider=shared_provider(),
        model=effective,
        session_id=session_id,
        session_db=state_db(),
        platform="web",
        workspace=workspace,
    )
    with SESSION_AGENT_CACHE_LOCK:
        SESSION_AGENT_CACHE[session_id] = (agent, key)
        SESSION_AGENT_CACHE.move_to_end(session_id)
        while len(SESSION_AGENT_CACHE) > SESSION_AGENT_CACHE_MAX:
            SESSION_AGENT_CACHE.popitem(last=False)
    return agent


def evict_agent(session_id: str) -> None:
    with SESSION_AGENT_CACHE_LOCK:
        SESSION_AGENT_CACHE.pop(session_id, None)


def rekey_agent(old_id: str, new_id: str) -> None:
    """Follow a compression rotation: the agent stays cached under the session's new id."""
    with SESSION_AGENT_CACHE_LOCK:
        entry = SESSION_AGENT_CACHE.pop(old_id, None)
        if entry is not None:
            SESSION_AGENT_CACHE[new_id] = entry
