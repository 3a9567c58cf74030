"""What one process shares between all its conversations: settings, a provider, state.db.

Every surface (the web server, the terminal gateway, the chat-app gateway) reads the settings
once, talks to the model through one provider (one HTTP client and connection pool: providers
keep no per-chat state) and records into one SessionDB. Settings are replaced only through
`reload_settings`, which also drops the provider built from the old ones.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from hermes_agent.errors import HermesError
from hermes_agent.settings import Settings, load_settings

if TYPE_CHECKING:
    from hermes_state import ConversationStore

log = logging.getLogger(__name__)

_settings: Settings | None = None
_provider: Any = None
_settings_lock = threading.Lock()
_state_db: ConversationStore | None = None
_state_db_lock = threading.Lock()


def current_settings() -> Settings:
    global _settings
    with _settings_lock:
        if _settings is None:
            _settings = load_settings()
        return _settings


def reload_settings() -> Settings:
    """Read the settings again; the next `shared_provider` call builds a provider from them."""
    global _settings, _provider
    fresh = load_settings()
    with _settings_lock:
        _settings, _provider = fresh, None
    return fresh


def shared_provider() -> Any:
    """The process's one provider, built from the current settings on first use."""
    global _provider
    from hermes_agent.providers import create_provider

    settings = current_settings()
    with _settings_lock:
        if _provider is None:
            _provider = create_provider(settings)
        return _provider


def open_store(settings: Settings) -> ConversationStore:
    """A new connection to the store the settings name (SQLite on state.db by default)."""
    from hermes_agent.plugins import STORES

    return STORES[settings.store].open(settings)


def state_db() -> ConversationStore | None:
    """The shared store, or None when it cannot be opened: turns still run, unrecorded, and
    the reason is logged."""
    global _state_db
    with _state_db_lock:
        if _state_db is None:
            try:
                _state_db = open_store(current_settings())
            except (HermesError, OSError) as exc:
                log.warning("the store is unavailable, turns will not be recorded: %s", exc)
                return None
        return _state_db
