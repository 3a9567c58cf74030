"""The built-in store, an entry point of `hermes_station.stores` like any other's."""

from __future__ import annotations

from typing import Any

from hermes_agent.plugins import StorePlugin
from hermes_state.store import SessionDB


def _open_sqlite(_settings: Any) -> SessionDB:
    return SessionDB()


SQLITE = StorePlugin("sqlite", _open_sqlite)
