"""The wire protocol: newline-delimited JSON-RPC 2.0 frames, error codes, and the writer.

Every frame is one JSON object on one line. Requests carry `id`, `method` and `params`; a
request without `id` is a notification and gets no reply. The gateway's own messages to the
client are notifications with method `event`:

    {"jsonrpc": "2.0", "method": "event",
     "params": {"type": "message.delta", "session_id": "1a2b3c4d", "payload": {...}}}

Only standard-library and orjson imports here: this module is on the start-up path.
"""

from __future__ import annotations

import sys
import threading
from typing import IO, Any

import orjson

# JSON-RPC 2.0 protocol errors.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

# Application errors (the ranges follow the original Hermes gateway: 4xxx the request cannot
# be done as asked, 5xxx the gateway failed doing it).
SESSION_NOT_FOUND = 4001
BAD_VALUE = 4002
STORED_SESSION_NOT_FOUND = 4007
NOTHING_TO_DO = 4008
SESSION_BUSY = 4009
TITLE_REJECTED = 4022
SESSION_ACTIVE = 4023
STORE_UNAVAILABLE = 5000
AGENT_INIT_FAILED = 5032

_ID_TYPES = (str, int, float, type(None))


class RpcError(Exception):
    """Raised anywhere below a handler; becomes the error reply of the request."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def result(rid: Any, value: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "result": value}


def error(rid: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": message}}


def event(kind: str, session_id: str | None, payload: Any = None) -> dict[str, Any]:
    params: dict[str, Any] = {"type": kind, "session_id": session_id}
    if payload is not None:
        params["payload"] = payload
    return {"jsonrpc": "2.0", "method": "event", "params": params}


def parse_line(line: bytes | str) -> Any:
    """One frame's JSON; a line that is not JSON raises the parse error."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise RpcError(PARSE_ERROR, f"parse error: {exc}") from None


def request_id(req: Any) -> Any:
    """The id to answer with, or None when the request has no usable one."""
    if isinstance(req, dict) and isinstance(req.get("id"), _ID_TYPES):
        return req.get("id")
    return None


def is_notification(req: Any) -> bool:
    """A request without an id (one that is not even a request is answered, with id null)."""
    return isinstance(req, dict) and "id" not in req and isinstance(req.get("method"), str)


def unpack(req: Any) -> tuple[str, dict[str, Any]]:
    """The method name and params of a request object; the protocol errors otherwise."""
    if not isinstance(req, dict):
        raise RpcError(INVALID_REQUEST, "invalid request: expected an object")
    if req.get("jsonrpc", "2.0") != "2.0":
        raise RpcError(INVALID_REQUEST, 'invalid request: jsonrpc must be "2.0"')
    if not isinstance(req.get("id"), _ID_TYPES):
        raise RpcError(INVALID_REQUEST, "invalid request: id must be a string or a number")
    name = req.get("method")
    if not isinstance(name, str) or not name:
        raise RpcError(INVALID_REQUEST, "invalid request: method must be a non-empty string")
    params = req.get("params")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise RpcError(INVALID_PARAMS, "invalid params: expected an object")
    return name, params


class Writer:
    """Writes frames to the client, one line each, whole: threads share it under a lock.

    `stream` is a binary stream; None means "the current `sys.stdout`", for code that runs
    in-process without a client.
    """

    def __init__(self, stream: IO[bytes] | None = None) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def write(self, frame: dict[str, Any]) -> bool:
        """False once the client is gone (closed pipe): the caller should stop."""
        data = orjson.dumps(frame, default=str) + b"\n"
        with self._lock:
            try:
                if self.stream is None:
                    sys.stdout.write(data.decode())
                    sys.stdout.flush()
                else:
                    self.stream.write(data)
                    self.stream.flush()
            except (ValueError, OSError):  # closed pipe or closed file
                return False
        return True
