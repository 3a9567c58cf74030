"""Attachments: upload a file for a message, and fetch it (or an image's thumbnail) back.

Files are served by the id the upload returned (the SHA-256 of their bytes) and never by
name. Only raster images are shown inline; every other file, SVG and HTML included, is a
download, with `nosniff` so no browser second-guesses the type.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import FileResponse

from api import replies
from api.filenames import content_disposition
from api.models import get_session
from api.openapi_extras import errors
from api.responses import JSONResponse
from api.uploads import receive_upload
from api.validation import SESSION_ID_PATTERN, require_session_id
from hermes_agent.runtime import attachment_store

router = APIRouter(tags=["attachments"])

IMMUTABLE = "private, max-age=31536000, immutable"  # an id names the same bytes forever
BINARY = {"schema": {"type": "string", "format": "binary"}}
FILE_REPLY = {
    "description": "A raster image inline with its type, or any other file as a download",
    "content": {
        **{mime: BINARY for mime in ("image/png", "image/jpeg", "image/gif", "image/webp")},
        "application/octet-stream": BINARY,
    },
}
THUMBNAIL_REPLY = {
    "description": "A WebP of at most 320 px a side",
    "content": {"image/webp": BINARY},
}
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "session_id": {"type": "string", "pattern": SESSION_ID_PATTERN},
                    },
                }
            }
        },
    }
}


@router.post(
    "/api/upload",
    summary="Upload a file to attach to a message",
    response_model=replies.Uploaded,
    responses=errors(400, 404, 413),
    openapi_extra=UPLOAD_BODY,
)
async def upload(request: Request) -> JSONResponse:
    store = attachment_store()
    attachment, session_id = await receive_upload(request, store)
    if session_id is not None:
        get_session(require_session_id(session_id))  # 404 for a conversation that is not there
        store.refer(session_id, [attachment.id])
    return JSONResponse(attachment.public())


@router.get(
    "/api/attachment/{attachment_id}",
    summary="An attachment's bytes",
    response_class=FileResponse,
    responses={200: FILE_REPLY, **errors(404)},
)
def attachment(attachment_id: str) -> FileResponse:
    store = attachment_store()
    found = store.get(attachment_id)
    disposition = "inline" if found.is_image else "attachment"
    return FileResponse(
        store.path(attachment_id),
        media_type=found.mime if found.is_image else "application/octet-stream",
        headers={
            "Cache-Control": IMMUTABLE,
            "Content-Disposition": content_disposition(found.filename, "attachment", disposition),
        },
    )


@router.get(
    "/api/attachment/{attachment_id}/thumbnail",
    summary="A small WebP of an image attachment",
    response_class=FileResponse,
    responses={200: THUMBNAIL_REPLY, **errors(404)},
)
def thumbnail(attachment_id: str) -> FileResponse:
    path = attachment_store().thumbnail(attachment_id)
    return FileResponse(path, media_type="image/webp", headers={"Cache-Control": IMMUTABLE})
