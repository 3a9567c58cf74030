"""JSON responses encoded with orjson, in the one error shape the API uses."""

from __future__ import annotations

from typing import Any

from starlette import responses

from api.storage import dumps

NO_STORE = {"Cache-Control": "no-store"}


class JSONResponse(responses.JSONResponse):
    """A JSON body; cheaper than the default encoder on large transcripts.

    A subclass of Starlette's, so FastAPI documents a route's `response_model` as its reply.
    """

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


def error_response(status: int, message: str, **extra: Any) -> JSONResponse:
    """`{"error": message}` with a real status: the only way an error leaves the server."""
    return JSONResponse({"error": message, **extra}, status_code=status, headers=NO_STORE)
