"""The built-in store, an entry point of `hermes_station.stores` like any other's: SQLite in
`$HERMES_HOME/state.db`. A damaged one is set aside as `state.db.damaged-<time>`, untouched."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from hermes_agent.plugins import StorePlugin
from hermes_state.connection import default_db_path
from hermes_state.salvage import damaged_copies, restored
from hermes_state.store import SessionDB


def _open_sqlite(_settings: Any) -> SessionDB:
    return SessionDB(default_db_path())


def _set_aside(_settings: Any) -> Path:
    """Move the damaged database and its journal files out of the way; the new name."""
    path = default_db_path()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while aside.exists():  # never over an earlier copy set aside in the same second
        n += 1
        aside = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    for suffix in ("", "-wal", "-shm", "-journal"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            source.rename(f"{aside}{suffix}")
    return aside


def _unrecovered(_settings: Any, store: SessionDB) -> list[str]:
    return [copy.name for copy in damaged_copies(default_db_path()) if not restored(store, copy)]


SQLITE = StorePlugin("sqlite", _open_sqlite, _set_aside, _unrecovered)
