"""The exception tree shared by the core and every surface.

The core raises these; each surface maps them once, at its boundary:

    HermesError          500  (a bug or an unexpected failure)
    ├── BadRequest       400  bad or missing input
    │   └── PayloadTooLarge  413  input over a size limit
    ├── NotFound         404  an unknown session, project or stream
    │   └── SessionNotFound   also a KeyError, the store's historical contract
    ├── Conflict         409  the request is valid but the state forbids it
    │   └── EmptyTranscript   also a ValueError: nothing left to retry or undo
    └── StoreError       500  the disk refused a write

`status` is the HTTP status; JSON-RPC and chat surfaces derive their own codes from the class.
"""

from __future__ import annotations


class HermesError(Exception):
    """Base of every error the project raises on purpose."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class BadRequest(HermesError):
    status = 400


class PayloadTooLarge(BadRequest):
    status = 413


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
    status = 500
