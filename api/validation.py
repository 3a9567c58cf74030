"""Checks on input that reaches the file system or the JSON encoder."""

from __future__ import annotations

import re
from typing import Any

from hermes_agent.errors import BadRequest

# The first character is never `_`: names starting with it are the store's own files
# (`_index.json`, the sidebar index), never sessions.
SESSION_ID_PATTERN = r"^[0-9a-z][0-9a-z_]{0,63}$"
_SESSION_ID = re.compile(SESSION_ID_PATTERN)
_SURROGATE = re.compile("[\ud800-\udfff]")


def is_valid_session_id(value: object) -> bool:
    """Lowercase letters, digits and `_`, not leading: an id can never name a path outside its
    dir, nor one of the store's own files there."""
    return isinstance(value, str) and _SESSION_ID.fullmatch(value) is not None


def require_session_id(value: object) -> str:
    if value is None or value == "":
        raise BadRequest("Missing required field(s): session_id")
    if not is_valid_session_id(value):
        raise BadRequest("Invalid session_id")
    return value


def check_json_value(value: Any, depth_limit: int) -> None:
    """Refuse what parses as JSON but cannot be stored: deep nesting and lone surrogates.

    orjson refuses to encode past 254 levels and strings holding half of a UTF-16 surrogate
    pair (which `json.loads` lets through from `\\ud800` escapes); refusing them here keeps
    a bad request from turning into a failed save. The walk is iterative so a hostile
    document cannot exhaust the stack.
    """
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not item.isascii() and _SURROGATE.search(item):
                raise BadRequest("Text contains an unpaired UTF-16 surrogate")
            continue
        if depth > depth_limit:
            raise BadRequest(f"JSON is nested more than {depth_limit} levels deep")
        if isinstance(item, dict):
            stack.extend((k, depth) for k in item)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
