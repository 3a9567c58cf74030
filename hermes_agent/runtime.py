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
    from hermes_agent.attachments import AttachmentStore
    from hermes_state import ConversationStore

log = logging.getLogger(__name__)

_settings: Settings | None = None
_provider: Any = None
_settings_lock = threading.Lock()
_state_db: ConversationStore | None = None
_store_health: dict[str, Any] = {"status": "unavailable"}
_state_db_lock = threading.Lock()
_attachments: AttachmentStore | None = None


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
    the reason is logged. A damaged one is set aside for a new one (`store_health` says so)."""
    global _state_db, _store_health
    with _state_db_lock:
        if _state_db is None:
            try:
                _state_db = _open_or_start_anew(current_settings())
            except (HermesError, OSError) as exc:
                log.warning("the store is unavailable, turns will not be recorded: %s", exc)
                _store_health = {"status": "unavailable", "error": str(exc)}
                return None
        return _state_db


def attachment_store() -> AttachmentStore:
    """The process's attachment store, under `$HERMES_HOME/attachments` (shared with every
    other process on the same home)."""
    global _attachments
    from hermes_agent.attachments import AttachmentStore
    from hermes_state.connection import get_hermes_home

    with _state_db_lock:
        if _attachments is None:
            _attachments = AttachmentStore(get_hermes_home() / "attachments")
        return _attachments


def store_health() -> dict[str, Any]:
    """What /health says of the store: `status` "ok", "replaced" (with `damaged_copy`) or
    "unavailable" (with `error`), and `unrecovered`: damaged copies not yet repaired from."""
    from hermes_agent.plugins import STORES

    store = state_db()
    with _state_db_lock:
        health = dict(_store_health)
    plugin = STORES[current_settings().store]
    if store is not None and plugin.unrecovered is not None:
        health["unrecovered"] = plugin.unrecovered(current_settings(), store)
    return health


def _open_or_start_anew(settings: Settings) -> ConversationStore:
    global _store_health
    from hermes_agent.errors import StoreError
    from hermes_agent.plugins import STORES

    plugin = STORES[settings.store]
    try:
        store = plugin.open(settings)
        _store_health = {"status": "ok"}
        return store
    except StoreError as exc:
        if not exc.damaged or plugin.set_aside is None:
            raise
        aside = plugin.set_aside(settings)
        log.error("%s. It was moved to %s, as it was, and a new store started", exc, aside)
    store = plugin.open(settings)
    _store_health = {"status": "replaced", "damaged_copy": str(aside)}
    return store
