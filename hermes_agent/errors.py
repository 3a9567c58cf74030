"""The exception tree shared by the core and every surface.

The core raises these; each surface maps them once, at its boundary:

    HermesError          500  (a bug or an unexpected failure)
    ├── BadRequest       400  bad or missing input
    │   └── PayloadTooLarge  413  input over a size limit
    ├── Forbidden        403  a path the caller may not reach (outside, protected)
    ├── NotFound         404  an unknown session, project or stream
    │   └── SessionNotFound   also a KeyError, the store's historical contract
    ├── Conflict         409  the request is valid but the state forbids it
    │   └── EmptyTranscript   also a ValueError: nothing left to retry or undo
    ├── StoreError       500  storage failed: a file damaged, unwritable, full or locked
    ├── ProviderError    502  the model provider failed; `kind` says how
    │   └── ContextLengthExceeded  the prompt does not fit the model's window
    ├── ToolError             a tool refused or failed; the model sees the message
    └── ConfigError           settings that cannot work (unknown key, bad value)

`status` is the HTTP status; JSON-RPC and chat surfaces derive their own codes from the class.
"""

from __future__ import annotations


class HermesError(Exception):
    """Base of every error the project raises on purpose."""

    status = 500

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details  # extra fields for the error reply, e.g. the conflicting id

    def __str__(self) -> str:
        return self.message


class BadRequest(HermesError):
    status = 400


class PayloadTooLarge(BadRequest):
    status = 413


class Forbidden(HermesError):
    status = 403


class NotFound(HermesError):
    status = 404


class SessionNotFound(NotFound, KeyError):
    """Raised by `get_session`; callers written against `KeyError` keep working."""

    def __init__(self, session_id: str) -> None:
        super().__init__("Session not found")
        self.session_id = session_id


class Conflict(HermesError):
    status = 409


class EmptyTranscript(Conflict, ValueError):
    """Nothing left to retry or undo; a `ValueError` for callers of the original API."""


class StoreError(HermesError):
    """The conversation store failed; `damaged`: its file is not a readable database."""

    status = 500

    def __init__(self, message: str, *, damaged: bool = False) -> None:
        super().__init__(message)
        self.damaged = damaged


class ProviderError(HermesError):
    """A provider call failed. `kind` is one of: context_length, quota, rate_limit, auth,
    not_found, bad_request, server, connection, timeout, unavailable."""

    status = 502

    def __init__(self, message: str, kind: str = "server", status_code: int | None = None):
        super().__init__(message)
        self.kind = kind
        self.status_code = status_code


class ContextLengthExceeded(ProviderError):
    def __init__(self, message: str, status_code: int | None = 400) -> None:
        super().__init__(message, "context_length", status_code)


class ToolError(HermesError):
    status = 400


class ConfigError(HermesError):
    status = 400
