"""What FastAPI cannot infer about our routes, declared beside them: error replies and query
parameters a handler requires itself.

Handlers that check a query parameter themselves (to answer with the message the original web
UI's clients know) take it as an optional parameter hidden from the schema (`*_CHECKED`) and
declare it with `*_QUERY` instead: required, with its real pattern.
"""

from __future__ import annotations

from typing import Any

from fastapi import Query

from api.validation import SESSION_ID_PATTERN

ERROR_SCHEMA_REF = "#/components/schemas/Error"
ERROR_DESCRIPTIONS = {
    400: "Bad or missing input",
    401: "A password is set and the request carries no valid session cookie",
    403: "A write from another origin, or without the CSRF token",
    404: "Unknown session, project, stream or approval",
    409: "The session's state forbids it (for example: a run is live)",
    413: "Request body too large",
    421: "Host not allowed",
    429: "Too many wrong passwords from this address; wait a minute",
    502: "The model provider failed or cannot be reached",
    503: "The conversation store (state.db) is unavailable",
}
# Any route can meet these: the request guard runs before every handler.
SHARED_ERRORS = (400, 401, 403, 413, 421)

# One each: FastAPI binds a `Query` object to the name of the first parameter using it.
SESSION_ID_CHECKED = Query(None, include_in_schema=False)
STREAM_ID_CHECKED = Query(None, include_in_schema=False)


def error_reply(status: int) -> dict[str, Any]:
    return {
        "description": ERROR_DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": ERROR_SCHEMA_REF}}},
    }


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses` of a route that can also answer with these statuses."""
    return {status: error_reply(status) for status in statuses}


def add_shared_errors(schema: dict[str, Any]) -> None:
    """Declare on every operation the errors the request guard can answer any request with."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            for status in SHARED_ERRORS:
                responses.setdefault(str(status), error_reply(status))


def required_query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": True,
        "description": description,
        "schema": schema,
    }


SESSION_ID_SCHEMA = {"type": "string", "pattern": SESSION_ID_PATTERN}
SESSION_ID_QUERY = {"parameters": [required_query("session_id", "Session id.", SESSION_ID_SCHEMA)]}
# Any text: one that names no run is a run that is not live (or a 404 for its events).
STREAM_ID_SCHEMA = {"type": "string", "minLength": 1}
STREAM_ID_QUERY = {"parameters": [required_query("stream_id", "The run's id.", STREAM_ID_SCHEMA)]}
