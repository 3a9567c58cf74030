"""`POST /api/upload`: a multipart body streamed straight into the attachment store.

The form is parsed as it arrives (`api.multipart`), so the file part goes chunk by chunk to
the store's temp file and nothing holds it whole in memory. Fields: `file` (one file) and
`session_id` (optional: the conversation it is for).
"""

from __future__ import annotations

import asyncio
from typing import cast

from starlette.requests import Request

from api.multipart import file_form
from hermes_agent.attachments import Attachment, AttachmentStore, Upload


async def receive_upload(request: Request, store: AttachmentStore) -> tuple[Attachment, str | None]:
    """Store the request's `file`; the attachment and the `session_id` field, if any."""

    def open_file(filename: str, _fields: dict[str, bytes]) -> Upload:
        return store.upload(filename)

    async with file_form(request, open_file, store.max_bytes) as (upload, fields):
        # hashing is done; the fsync and the sniffing may take a moment: not on the loop
        attachment = await asyncio.to_thread(cast(Upload, upload).finish)
    given = fields.get("session_id")
    return attachment, None if given is None else given.decode("utf-8", "replace")
