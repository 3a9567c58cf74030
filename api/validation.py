"""Checks on input that reaches the file system or the JSON encoder."""

from __future__ import annotations

import re
from typing import Any

from hermes_agent.errors import BadRequest

SESSION_ID_PATTERN = r"^[0-9a-z_]{1,64}$"
_SESSION_ID = re.compile(SESSION_ID_PATTERN)


def is_valid_session_id(value: object) -> bool:
    """Lowercase letters, digits and `_` only: an id can never name a path outside its dir."""
    return isinstance(value, str) and _SESSION_ID.fullmatch(value) is not None


def require_session_id(value: object) -> str:
    if value is None or value == "":
        raise BadRequest("Missing required field(s): session_id")
    if not is_valid_session_id(value):
        raise BadRequest("Invalid session_id")
    return value


def check_json_depth(value: Any, limit: int) -> None:
    """Refuse structures nested deeper than `limit` before they reach the encoder.

    orjson refuses to encode past 254 levels, so an unbounded import would be accepted and
    then fail to save; the walk is iterative so a hostile document cannot exhaust the stack.
    """
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise BadRequest(f"JSON is nested more than {limit} levels deep")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
