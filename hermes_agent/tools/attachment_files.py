"""Attached files, for the file tools: read where they are, saved into the workspace on request.

A message names each file it carries as `attachment:<id>` (see `attachment_content`). The
store is outside the workspace and stays read-only to the agent: `read_file` reads such a
path from the store, and `save_attachment` copies one into the workspace only when the model
asks, as any other write.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from hermes_agent.errors import NotFound, ToolError

if TYPE_CHECKING:
    from hermes_agent.attachments import Attachment

PREFIX = "attachment:"


def is_attachment_path(raw: object) -> bool:
    return isinstance(raw, str) and raw.startswith(PREFIX)


def attachment_of(raw: str) -> tuple[Attachment, bytes]:
    """The attachment `attachment:<id>[/name]` names and its bytes; ToolError if unknown."""
    from hermes_agent.runtime import attachment_store

    ident = raw[len(PREFIX) :].split("/", 1)[0]
    store = attachment_store()
    try:
        found = store.get(ident)
    except NotFound:
        raise ToolError(f"{raw} is not an attached file") from None
    return found, store.path(ident).read_bytes()


def attachment_text(raw: str) -> io.BytesIO:
    """The attached file's bytes to read as text; ToolError for an image or other binary."""
    found, data = attachment_of(raw)
    if not (found.mime.startswith("text/") or found.mime == "application/json"):
        raise ToolError(
            f"{raw} ({found.filename}) is {found.mime}, not text: what could be read of it "
            "came with the message"
        )
    return io.BytesIO(data)


def save_attachment_args(args: dict[str, Any]) -> tuple[str, bytes]:
    """The workspace path to write and the bytes to write there."""
    source = args.get("attachment")
    if not is_attachment_path(source):
        raise ToolError(f"attachment must be an {PREFIX}<id> reference from the message")
    found, data = attachment_of(source)
    return args.get("path") or found.filename, data
