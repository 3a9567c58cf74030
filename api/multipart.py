"""A multipart form with one file, streamed: the file part goes chunk by chunk to a sink the
caller opens, and nothing holds it whole in memory.

The body is parsed as it arrives (python-multipart's push parser). The size limit stops the
transfer as soon as it is passed, whatever Content-Length said. Plain fields are small and
kept as bytes; the caller's `open_file` is called when the file part begins, with the fields
seen so far, so a form can say where its file goes in the fields before it. Whatever sink was
opened is discarded when the request fails, and after the caller's block in any case (a sink
that was finished ignores that).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from hermes_agent.errors import BadRequest, PayloadTooLarge

MAX_FIELD_BYTES = 256
MAX_OVERHEAD_BYTES = 64 * 1024  # headers, fields and boundaries around the file
FILE_FIELD = b"file"


class Sink(Protocol):
    """Where the file's bytes go: written as they come, thrown away unless finished."""

    def write(self, chunk: bytes) -> None: ...

    def discard(self) -> None: ...


SinkFactory = Callable[[str, dict[str, bytes]], Sink]
"""Opens the sink for the file part: (the name the client gave, the fields so far)."""


@dataclass
class _Form:
    """What the parser has seen so far of the current part and of the form."""

    open_file: SinkFactory
    max_field_bytes: int
    sink: Sink | None = None
    name: bytes = b""
    filename: str | None = None
    header_field: bytes = b""
    header_value: bytes = b""
    fields: dict[str, bytes] = field(default_factory=dict)
    received: Sink | None = None
    files: int = 0


@contextlib.asynccontextmanager
async def file_form(
    request: Request,
    open_file: SinkFactory,
    max_file_bytes: int,
    *,
    max_field_bytes: int = MAX_FIELD_BYTES,
) -> AsyncIterator[tuple[Sink, dict[str, bytes]]]:
    """The sink that received the form's `file` part, and its other fields."""
    kind, options = parse_options_header(request.headers.get("content-type"))
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise BadRequest("send the file as multipart/form-data with a `file` field")
    form = _Form(open_file, max_field_bytes)
    try:
        await _parse(request, form, boundary, max_file_bytes)
        if form.received is None:
            raise BadRequest("no `file` field in the upload")
        yield form.received, form.fields
    finally:
        for sink in (form.sink, form.received):
            if sink is not None:
                sink.discard()


def text_field(fields: dict[str, bytes], name: str) -> str | None:
    """A field's value as text (None when it was not sent); bad UTF-8 is a 400."""
    raw = fields.get(name)
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(f"field {name} is not UTF-8 text") from None


async def _parse(request: Request, form: _Form, boundary: bytes, max_file_bytes: int) -> None:
    parser = MultipartParser(boundary, _callbacks(form))
    limit, received = max_file_bytes + MAX_OVERHEAD_BYTES, 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise PayloadTooLarge(f"upload too large (limit {max_file_bytes >> 20} MB a file)")
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
        if form.name == FILE_FIELD and form.filename is not None:
            form.files += 1
            if form.files > 1:
                raise BadRequest("one file per upload")
            form.sink = form.open_file(form.filename, dict(form.fields))
        else:  # a field, present even when its value is empty
            form.fields.setdefault(form.name.decode("ascii", "replace"), b"")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if form.sink is not None:
            form.sink.write(data[start:end])
            return
        name = form.name.decode("ascii", "replace")
        value = form.fields.get(name, b"") + data[start:end]
        if len(value) > form.max_field_bytes:
            raise BadRequest(f"field {name} is too long")
        form.fields[name] = value

    def on_part_end() -> None:
        if form.sink is not None:
            form.received = form.sink
            form.sink = None
        form.name, form.filename = b"", None

    return {
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished,
        "on_part_data": on_part_data,
        "on_part_end": on_part_end,
    }
