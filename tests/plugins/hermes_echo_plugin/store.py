"""A store plugin: the conversations in `elsewhere.db` under the Hermes home instead of
state.db. A store for another database implements every method of
`hermes_state.ConversationStore` the same way."""

from __future__ import annotations

from hermes_agent.plugins import StorePlugin
from hermes_agent.settings import Settings, hermes_home
from hermes_state import SessionDB


def open_elsewhere(settings: Settings) -> SessionDB:
    return SessionDB(hermes_home() / "elsewhere.db")


STORE = StorePlugin("elsewhere", open_elsewhere)
