"""The open conversation's workspace: list its directories, read or download a file, upload
one, and see which files the agent changed.

Paths are confined as the agent's file tools confine them (`api.workspace_files`). A file is
shown inline only as text (`text/plain; charset=utf-8`, its first megabyte) or as a raster
image with the type its bytes say; every other file, and every file named as an HTML or SVG
document, is a download (`application/octet-stream`).
"""

from __future__ import annotations

import asyncio
import codecs
from collections.abc import AsyncIterator
from pathlib import PurePosixPath
from typing import Any, cast

from fastapi import APIRouter, Query
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from api import replies
from api.filenames import content_disposition
from api.multipart import file_form, text_field
from api.openapi_extras import (
    SESSION_ID_CHECKED,
    SESSION_ID_QUERY,
    SESSION_ID_SCHEMA,
    error_reply,
    errors,
    required_query,
)
from api.responses import NO_STORE, JSONResponse
from api.validation import SESSION_ID_PATTERN, require_session_id
from api.workspace_changes import changed_files
from api.workspace_files import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_UPLOAD_BYTES,
    OpenFile,
    Upload,
    list_directory,
    open_file,
    parse_overwrite,
    workspace_of,
)
from hermes_agent.errors import BadRequest

router = APIRouter(tags=["workspace"])

PREVIEW_BYTES = 1024 * 1024
CHUNK_BYTES = 256 * 1024
MAX_PATH_CHARS = 4096
OPAQUE = "application/octet-stream"
PAGE_SUFFIXES = frozenset({".html", ".htm", ".xhtml", ".shtml", ".svg", ".svgz"})
PATH_DESCRIPTION = "A path relative to the workspace; `/` separates directories."
PATH_SCHEMA = {"type": "string", "maxLength": MAX_PATH_CHARS}
PATH_CHECKED = Query(None, include_in_schema=False)
FILE_QUERY = {
    "parameters": [
        required_query("session_id", "Session id.", SESSION_ID_SCHEMA),
        required_query("path", PATH_DESCRIPTION, PATH_SCHEMA),
    ]
}
BINARY = {"schema": {"type": "string", "format": "binary"}}
FILE_REPLY = {
    "description": "Text inline as UTF-8 (its first megabyte), a raster image inline with its "
    "type, or any other file (and any file asked for with `download=1`) as a download",
    "content": {
        "text/plain": {"schema": {"type": "string"}},
        **{mime: BINARY for mime in ("image/png", "image/jpeg", "image/gif", "image/webp")},
        OPAQUE: BINARY,
    },
    "headers": {
        "Content-Disposition": {"schema": {"type": "string"}},
        "X-Hermes-Size": {
            "description": "The whole file's size in bytes",
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        },
        "X-Hermes-Truncated": {
            "description": "On text shown inline: `true` when only its first megabyte was sent",
            "schema": {"type": "string", "enum": ["true", "false"]},
        },
    },
}
FORBIDDEN = {
    403: {
        **error_reply(403),
        "description": "The path leads out of the workspace through a link, or into a protected "
        "directory (the Hermes home, the web state; `.git` for uploads); or a write from "
        "another origin, or without the CSRF token",
    }
}
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["session_id", "path", "file"],
                    "properties": {
                        "session_id": {"type": "string", "pattern": SESSION_ID_PATTERN},
                        "path": {**PATH_SCHEMA, "description": "The directory ('' for the root)."},
                        "overwrite": {"type": "string", "enum": ["0", "1"]},
                        "file": {"type": "string", "format": "binary"},
                    },
                }
            }
        },
    }
}


@router.get(
    "/api/workspace/list",
    summary="One page of a directory of the conversation's workspace",
    response_model=replies.WorkspaceListing,
    responses={**FORBIDDEN, **errors(404)},
    openapi_extra=SESSION_ID_QUERY,
)
def list_workspace(
    session_id: str | None = SESSION_ID_CHECKED,
    path: str = Query("", max_length=MAX_PATH_CHARS, description=PATH_DESCRIPTION),
    offset: int = Query(0, ge=0, le=1_000_000_000),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> JSONResponse:
    ws = workspace_of(require_session_id(session_id))
    return JSONResponse(list_directory(ws, path, offset, limit), headers=NO_STORE)


@router.get(
    "/api/workspace/file",
    summary="A file of the conversation's workspace, to preview or download",
    response_class=Response,
    responses={200: FILE_REPLY, **FORBIDDEN, **errors(404)},
    openapi_extra=FILE_QUERY,
)
def workspace_file(
    session_id: str | None = SESSION_ID_CHECKED,
    path: str | None = PATH_CHECKED,
    download: int = Query(0, ge=0, le=1, description="1: always as a download."),
) -> Response:
    ws = workspace_of(require_session_id(session_id))
    if path is None:
        raise BadRequest("Missing required field(s): path")
    if len(path) > MAX_PATH_CHARS:
        raise BadRequest(f"path: longer than {MAX_PATH_CHARS} characters")
    opened = open_file(ws, path)
    try:
        return _file_reply(opened, bool(download))
    except BaseException:
        opened.close()
        raise


def _file_reply(opened: OpenFile, download: bool) -> Response:
    kind = opened.kind
    headers = {**NO_STORE, "X-Hermes-Size": str(opened.size)}
    if not download and kind is not None and kind.is_text and not _is_page(opened.name):
        return _text_preview(opened, headers)
    inline = not download and kind is not None and kind.is_image
    mime = kind.mime if inline and kind is not None else OPAQUE
    headers["Content-Disposition"] = content_disposition(
        opened.name, "file", "inline" if inline else "attachment"
    )
    return StreamingResponse(
        _chunks(opened), media_type=mime, headers=headers, background=BackgroundTask(opened.close)
    )


def _is_page(name: str) -> bool:
    """Named as a document a browser would render and run (HTML, SVG): only downloaded, even
    though its text would be inert as text/plain."""
    return PurePosixPath(name.lower()).suffix in PAGE_SUFFIXES


def _text_preview(opened: OpenFile, headers: dict[str, str]) -> Response:
    """The file's first megabyte, cut before a character that does not fit whole."""
    with opened.file as f:
        data = f.read(PREVIEW_BYTES + 1)
    cut = len(data) > PREVIEW_BYTES
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    text = decoder.decode(data[:PREVIEW_BYTES], final=not cut)
    headers["X-Hermes-Truncated"] = "true" if cut else "false"
    headers["Content-Disposition"] = content_disposition(opened.name, "file", "inline")
    return Response(text.encode(), media_type="text/plain; charset=utf-8", headers=headers)


async def _chunks(opened: OpenFile) -> AsyncIterator[bytes]:
    """The open file's bytes, read off the event loop; closed however the reply ends."""
    try:
        while chunk := await asyncio.to_thread(opened.file.read, CHUNK_BYTES):
            yield chunk
    finally:
        opened.close()


@router.post(
    "/api/workspace/upload",
    summary="Upload a file into a directory of the conversation's workspace",
    response_model=replies.WorkspaceUploaded,
    responses={**FORBIDDEN, **errors(400, 404, 409, 413)},
    openapi_extra=UPLOAD_BODY,
)
async def upload(request: Request) -> JSONResponse:
    async with file_form(
        request, _open_upload, MAX_UPLOAD_BYTES, max_field_bytes=MAX_PATH_CHARS
    ) as (sink, _):
        # the bytes are written; the fsync and the rename may take a moment: not on the loop
        reply = await asyncio.to_thread(cast(Upload, sink).finish)
    return JSONResponse(reply)


def _open_upload(filename: str, fields: dict[str, bytes]) -> Upload:
    """Where the file part goes, from the fields sent before it."""
    session_id, path = text_field(fields, "session_id"), text_field(fields, "path")
    if session_id is None or path is None:
        raise BadRequest("the session_id and path fields must come before the file in the form")
    ws = workspace_of(require_session_id(session_id))
    return Upload(ws, path, filename, parse_overwrite(text_field(fields, "overwrite")))


@router.get(
    "/api/workspace/changes",
    summary="The files the agent wrote or edited in the conversation's latest turn",
    response_model=replies.WorkspaceChanges,
    responses=errors(404),
    openapi_extra=SESSION_ID_QUERY,
)
def changes(
    session_id: str | None = SESSION_ID_CHECKED,
    since: str | None = Query(
        None,
        max_length=200,
        description="A Unix time: the changes of every turn begun since; or the id of the "
        "conversation's live run: that run's.",
    ),
) -> JSONResponse:
    reply: dict[str, Any] = changed_files(require_session_id(session_id), since)
    return JSONResponse(reply, headers=NO_STORE)
