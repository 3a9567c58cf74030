"""`POST /api/upload`: a multipart body streamed straight into the attachment store.

The body is parsed as it arrives (python-multipart's push parser), so the file part goes
chunk by chunk to the store's temp file and nothing holds it whole in memory; the size limit
stops the transfer as soon as it is passed, whatever Content-Length said. Fields: `file` (one
file) and `session_id` (optional: the conversation it is for).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from hermes_agent.attachments import Attachment, AttachmentStore, Upload
from hermes_agent.errors import BadRequest, PayloadTooLarge

MAX_FIELD_BYTES = 256
MAX_OVERHEAD_BYTES = 64 * 1024  # headers and boundaries around the file


@dataclass
class _Form:
    """What the parser has seen so far of the current part and of the form."""

    store: AttachmentStore
    upload: Upload | None = None
    name: bytes = b""
    filename: str | None = None
    header_field: bytes = b""
    header_value: bytes = b""
    fields: dict[str, bytes] = field(default_factory=dict)
    received: Upload | None = None
    files: int = 0


async def receive_upload(request: Request, store: AttachmentStore) -> tuple[Attachment, str | None]:
    """Store the request's `file`; the attachment and the `session_id` field, if any."""
    kind, options = parse_options_header(request.headers.get("content-type"))
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise BadRequest("send the file as multipart/form-data with a `file` field")
    form = _Form(store)
    try:
        await _parse(request, form)
        if form.received is None:
            raise BadRequest("no `file` field in the upload")
        # hashing is done; the fsync and the sniffing may take a moment: not on the loop
        attachment = await asyncio.to_thread(form.received.finish)
    finally:
        for upload in (form.upload, form.received):
            if upload is not None:
                upload.discard()
    given = form.fields.get("session_id")
    return attachment, None if given is None else given.decode("utf-8", "replace")


async def _parse(request: Request, form: _Form) -> None:
    boundary = parse_options_header(request.headers.get("content-type"))[1][b"boundary"]
    parser = MultipartParser(boundary, _callbacks(form))
    limit, received = form.store.max_bytes + MAX_OVERHEAD_BYTES, 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise PayloadTooLarge(
                    f"upload too large (limit {form.store.max_bytes >> 20} MB a file)"
                )
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        raise BadRequest(f"malformed multipart body: {exc}") from None


def _callbacks(form: _Form) -> dict[str, Any]:
    def on_header_field(data: bytes, start: int, end: int) -> None:
        form.header_field += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        form.header_value += data[start:end]

    def on_header_end() -> None:
        if form.header_field.lower() == b"content-disposition":
            _, params = parse_options_header(form.header_value)
            form.name = params.get(b"name", b"")
            raw = params.get(b"filename")
            form.filename = raw.decode("utf-8", "replace") if raw is not None else None
        form.header_field = form.header_value = b""

    def on_headers_finished() -> None:
        if form.name == b"file" and form.filename is not None:
            form.files += 1
            if form.files > 1:
                raise BadRequest("one file per upload")
            form.upload = form.store.upload(form.filename)
        else:  # a field, present even when its value is empty
            form.fields.setdefault(form.name.decode("ascii", "replace"), b"")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if form.upload is not None:
            form.upload.write(data[start:end])
            return
        name = form.name.decode("ascii", "replace")
        value = form.fields.get(name, b"") + data[start:end]
        if len(value) > MAX_FIELD_BYTES:
            raise BadRequest(f"field {name} is too long")
        form.fields[name] = value

    def on_part_end() -> None:
        if form.upload is not None:
            form.received = form.upload
            form.upload = None
        form.name, form.filename = b"", None

    return {
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished,
        "on_part_data": on_part_data,
        "on_part_end": on_part_end,
    }
