"""File storage for the web server: crash-safe writes and the JSON encoding of what we store.

The writes themselves live in `hermes_agent.durable`, shared with the other stores.
"""

from __future__ import annotations

from typing import Any

import orjson

from hermes_agent.durable import atomic_write, remove_stale_temp_files

__all__ = [
    "JSONDecodeError",
    "atomic_write",
    "dumps",
    "dumps_file",
    "loads",
    "remove_stale_temp_files",
]


def dumps_file(obj: Any) -> bytes:
    """Encode for a file on disk: indented so people can read and diff it."""
    return orjson.dumps(obj, option=orjson.OPT_INDENT_2)


def dumps(obj: Any) -> bytes:
    """Encode for the wire: compact."""
    return orjson.dumps(obj)


loads = orjson.loads
JSONDecodeError = orjson.JSONDecodeError
