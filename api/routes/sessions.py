"""Session routes: create, read, list, search, import/export, and edits of one session.

Handlers that touch session state are plain `def`: FastAPI runs them in its thread pool, where
they may take the per-session locks without blocking the event loop.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Literal

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from api import (
    archive_import,
    backup,
    models,
    other_surfaces,
    projects,
    replies,
    runs,
    session_ops,
    streaming,
    turn_messages,
)
from api.filenames import content_disposition, export_filename
from api.models import Session, get_session, new_session
from api.openapi_extras import SESSION_ID_CHECKED, SESSION_ID_QUERY, errors
from api.responses import NO_STORE, JSONResponse
from api.schemas import (
    Archive,
    Branch,
    ImportSession,
    Move,
    NewSession,
    Pin,
    Rename,
    SessionRef,
    SessionUpdate,
    Truncate,
)
from api.search import search_sessions
from api.session_branch import branch_session
from api.session_filters import ArchivedMode, session_filter
from api.session_import import import_session
from api.transcripts import to_markdown
from api.validation import SESSION_ID_PATTERN, require_session_id
from api.workspaces import resolve_trusted_workspace
from hermes_agent.errors import BadRequest, SessionNotFound
from hermes_agent.redaction import redact, redact_text
from hermes_agent.runtime import attachment_store

router = APIRouter(tags=["sessions"])

ARCHIVED_QUERY = Query("1", description="0: leave archived sessions out; only: nothing else.")
PROJECT_QUERY = Query(
    None,
    description="Only the sessions of this project.",
    json_schema_extra={"pattern": SESSION_ID_PATTERN},
)
DOWNLOAD_HEADERS = {"Content-Disposition": {"schema": {"type": "string"}}}
EXPORT_REPLIES = {
    200: {
        "description": "The session as JSON (`format=json`) or Markdown (`format=md`)",
        "content": {"text/markdown": {"schema": {"type": "string"}}},
        "headers": DOWNLOAD_HEADERS,
    },
    **errors(404),
}
ZIP_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
    }
}
ARCHIVE_REPLY = {
    "description": "A zip of JSON exports, one per session",
    "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
    "headers": {
        **DOWNLOAD_HEADERS,
        "X-Hermes-Conversations": {"schema": {"type": "string", "pattern": "^[0-9]+$"}},
    },
}
EDITED = {"response_model": replies.SessionEdited, "responses": errors(404)}


def _query_session_id(session_id: str | None, missing: str) -> str:
    if not session_id:
        raise BadRequest(missing)
    return require_session_id(session_id)


def _ok(session: Session, *, with_messages: bool = False) -> JSONResponse:
    payload = session.compact()
    if with_messages:
        payload["messages"] = session.messages
    return JSONResponse(redact({"ok": True, "session": payload}))


@router.post(
    "/api/session/new",
    summary="Start a session (in memory until its first message)",
    response_model=replies.SessionCreated,
    responses=errors(404),
)
def create_session(body: NewSession | None = None) -> JSONResponse:
    body = body or NewSession()
    workspace = resolve_trusted_workspace(body.workspace)
    if body.project_id:
        projects.get_project(body.project_id)
    session = new_session(str(workspace), body.model, body.profile, body.project_id)
    return JSONResponse({"session": {**session.compact(), "messages": []}})


@router.get(
    "/api/session",
    summary="One session with its transcript (pageable)",
    response_model=replies.SessionRead,
    responses=errors(404),
    openapi_extra=SESSION_ID_QUERY,
)
def read_session(
    session_id: str | None = SESSION_ID_CHECKED,
    messages: int = Query(1, ge=0, le=1, description="0 for metadata only."),
    msg_limit: int | None = Query(
        None, ge=1, le=1_000_000_000, description="Return only the last N messages."
    ),
    msg_before: int | None = Query(
        None, ge=0, le=1_000_000_000, description="With msg_limit: page before index."
    ),
) -> JSONResponse:
    sid = _query_session_id(session_id, "session_id is required")
    try:
        session = get_session(sid, metadata_only=not messages)
    except SessionNotFound:
        return _other_surface_session(sid, msg_limit, msg_before, with_messages=bool(messages))
    payload = session.compact()
    transcript, tool_calls = session.messages, session.tool_calls
    later = other_surfaces.later_messages(session) if messages else []
    if later:  # said on another surface since: shown here, written by the next edit
        transcript = transcript + later
        tool_calls = turn_messages.tool_call_summaries(transcript)
        payload["message_count"] = len(transcript)
    start, page = _page(transcript, msg_limit, msg_before) if messages else (0, [])
    payload.update(
        messages=page,
        tool_calls=tool_calls,
        pending_user_message=session.pending_user_message,
        pending_attachments=session.pending_attachments if messages else [],
        pending_started_at=session.pending_started_at,
        context_length=session.context_length or 0,
        threshold_tokens=session.threshold_tokens or 0,
        last_prompt_tokens=session.last_prompt_tokens or 0,
        _messages_truncated=start > 0,
        _messages_offset=start,
    )
    return JSONResponse({"session": redact(payload)}, headers=NO_STORE)


def _other_surface_session(
    sid: str, limit: int | None, before: int | None, *, with_messages: bool
) -> JSONResponse:
    """A conversation of the terminal or a chat app, read from state.db (read-only here)."""
    detail = other_surfaces.session_detail(sid)
    if detail is None:
        raise SessionNotFound(sid)
    start, page = _page(detail.pop("messages"), limit, before) if with_messages else (0, [])
    detail.update(
        messages=page,
        tool_calls=[],
        pending_user_message=None,
        read_only=True,
        _messages_truncated=start > 0,
        _messages_offset=start,
    )
    return JSONResponse({"session": redact(detail)}, headers=NO_STORE)


def _page(messages: list, limit: int | None, before: int | None) -> tuple[int, list]:
    end = len(messages) if before is None else min(before, len(messages))
    start = 0 if limit is None else max(0, end - limit)
    return start, messages[start:end]


@router.get(
    "/api/sessions",
    summary="The sidebar list: pinned first, then newest",
    response_model=replies.SessionList,
    responses=errors(404),
)
def list_sessions(
    limit: int | None = Query(None, ge=1, le=10_000),
    offset: int = Query(0, ge=0, le=1_000_000_000),
    archived: ArchivedMode = ARCHIVED_QUERY,
    project_id: str | None = PROJECT_QUERY,
) -> JSONResponse:
    every = models.all_sessions()
    chosen = session_filter(archived, project_id)
    rows = chosen.apply(every)
    others = other_surfaces.listed({row["session_id"] for row in every})
    if chosen.includes_unfiled_active:
        rows = other_surfaces.merged(rows, others)
    page = rows[offset : offset + limit] if limit else rows[offset:]
    return JSONResponse(
        {
            "sessions": [_redact_title(row) for row in page],
            "total": len(rows),
            "offset": offset,
            "limit": limit,
            "cli_count": len(others),
            "server_time": time.time(),
            "server_tz": time.strftime("%z"),
        },
        headers=NO_STORE,
    )


def _redact_title(row: dict[str, Any]) -> dict[str, Any]:
    title = row.get("title") or ""
    clean = redact_text(title)
    return row if clean == title else {**row, "title": clean}


@router.get(
    "/api/sessions/search",
    summary="Find sessions by title or message text",
    response_model=replies.SearchResults,
    responses=errors(404),
)
def search(
    *,
    q: str = Query("", max_length=500),
    content: int = Query(1, ge=0, le=1, description="0 to match titles only."),
    depth: int = Query(
        0, ge=0, le=1_000_000_000, description="Search only the first N messages (0: all)."
    ),
    limit: int = Query(50, ge=1, le=500),
    archived: ArchivedMode = ARCHIVED_QUERY,
    project_id: str | None = PROJECT_QUERY,
) -> JSONResponse:
    query = q.strip().lower()
    every = models.all_sessions()
    chosen = session_filter(archived, project_id)
    rows = chosen.apply(every)
    if query:
        rows = search_sessions(query, bool(content), depth, limit, rows)
        if chosen.includes_unfiled_active and len(rows) < limit:
            web_ids = {row["session_id"] for row in every}
            rows += other_surfaces.search(query, web_ids, limit - len(rows))
    rows = [_redact_title(row) for row in rows]
    return JSONResponse({"sessions": redact(rows), "query": query, "count": len(rows)})


@router.post(
    "/api/session/import_cli",
    summary="Continue a terminal or chat-app conversation here",
    response_model=replies.SessionContinued,
    responses=errors(404),
)
def import_cli(body: SessionRef) -> JSONResponse:
    sid = require_session_id(body.session_id)
    session, imported = other_surfaces.continue_in_web(sid)
    reply = {"ok": True, "imported": imported, "session": session.compact()}
    reply["session"]["messages"] = session.messages
    return JSONResponse(redact(reply))


@router.post(
    "/api/session/import",
    summary="Store a transcript as a new session",
    response_model=replies.SessionEditedWithMessages,
)
def import_(body: ImportSession) -> JSONResponse:
    return _ok(import_session(body), with_messages=True)


@router.post(
    "/api/sessions/import",
    summary="Take back a zip export whole: its conversations and their files",
    response_model=replies.ArchiveImported,
    responses=errors(400, 413),
    openapi_extra=ZIP_BODY,
)
async def import_archive(request: Request) -> JSONResponse:
    spool = await archive_import.receive(request)
    return JSONResponse(await asyncio.to_thread(archive_import.restore, spool))


@router.get(
    "/api/session/export",
    summary="Download a session as JSON or Markdown",
    response_model=replies.SessionExport,
    responses=EXPORT_REPLIES,
    openapi_extra=SESSION_ID_QUERY,
)
def export(
    session_id: str | None = SESSION_ID_CHECKED,
    format: Literal["json", "md"] = Query("json"),
) -> Response:
    sid = _query_session_id(session_id, "session_id is required")
    session = get_session(sid)
    name = export_filename(redact_text(session.title), sid, format)
    disposition = content_disposition(name, fallback=backup.export_name(sid, format))
    headers = {**NO_STORE, "Content-Disposition": disposition}
    if format == "md":
        body = redact_text(to_markdown(session)).encode()
        return Response(body, media_type="text/markdown; charset=utf-8", headers=headers)
    return Response(backup.export_json(session), media_type="application/json", headers=headers)


@router.get(
    "/api/sessions/export",
    summary="Download every conversation as a zip of JSON exports",
    response_class=StreamingResponse,
    responses={200: ARCHIVE_REPLY},
)
def export_all() -> StreamingResponse:
    archive, count = backup.build_archive()
    stamp = time.strftime("%Y-%m-%d")
    headers = {
        **NO_STORE,
        "Content-Disposition": f'attachment; filename="hermes-conversations-{stamp}.zip"',
        "X-Hermes-Conversations": str(count),
    }
    return StreamingResponse(backup.chunks(archive), media_type="application/zip", headers=headers)


@router.post(
    "/api/session/update",
    summary="Change a session's workspace or model",
    response_model=replies.SessionEdited,
    responses=errors(404, 409),
)
def update(body: SessionUpdate) -> JSONResponse:
    sid = require_session_id(body.session_id)
    raw_workspace = (body.workspace or "").strip()
    workspace = str(resolve_trusted_workspace(raw_workspace)) if raw_workspace else None
    model = None if body.model is None else body.model.strip()
    return _ok(session_ops.change_workspace_and_model(sid, workspace, model))


@router.post("/api/session/rename", summary="Set a session's title", **EDITED)
def rename(body: Rename) -> JSONResponse:
    sid = require_session_id(body.session_id)
    session = session_ops.rename_session(sid, body.title)
    return JSONResponse(redact({"ok": True, "session": session.compact()}))


@router.post(
    "/api/session/delete", summary="Delete a session (idempotent)", response_model=replies.Ok
)
def delete(body: SessionRef) -> JSONResponse:
    sid = require_session_id(body.session_id)
    run = runs.live_run_of(sid)
    if run is not None:  # stopped first, so nothing it would still write can find the session
        streaming.cancel_stream(run.stream_id)
    models.delete_session(sid)
    attachment_store().forget_session(sid)  # files no other conversation refers to go too
    return JSONResponse({"ok": True})


@router.post("/api/session/pin", summary="Pin or unpin a session", **EDITED)
def pin(body: Pin) -> JSONResponse:
    return _ok(session_ops.set_pinned(require_session_id(body.session_id), body.pinned))


@router.post("/api/session/archive", summary="Archive or unarchive a session", **EDITED)
def archive(body: Archive) -> JSONResponse:
    return _ok(session_ops.set_archived(require_session_id(body.session_id), body.archived))


@router.post("/api/session/move", summary="Move a session into a project (or out of all)", **EDITED)
def move(body: Move) -> JSONResponse:
    sid = require_session_id(body.session_id)
    if body.project_id:
        projects.get_project(body.project_id)
    return _ok(session_ops.move_to_project(sid, body.project_id))


@router.post("/api/session/clear", summary="Empty a session's transcript", **EDITED)
def clear(body: SessionRef) -> JSONResponse:
    return _ok(session_ops.clear_session(require_session_id(body.session_id)))


@router.post(
    "/api/session/truncate",
    summary="Keep only the first N messages",
    response_model=replies.SessionEditedWithMessages,
    responses=errors(404),
)
def truncate(body: Truncate) -> JSONResponse:
    session = session_ops.truncate_session(require_session_id(body.session_id), body.keep_count)
    return _ok(session, with_messages=True)


@router.post(
    "/api/session/branch",
    summary="Start a new conversation from a session's first N messages",
    response_model=replies.SessionEditedWithMessages,
    responses=errors(404, 409),
)
def branch(body: Branch) -> JSONResponse:
    session = branch_session(require_session_id(body.session_id), body.keep_count)
    return _ok(session, with_messages=True)


@router.post(
    "/api/session/retry",
    summary="Remove the last exchange and return its user text",
    response_model=replies.Retried,
    responses=errors(404, 409),
)
def retry(body: SessionRef) -> JSONResponse:
    result = session_ops.retry_last(require_session_id(body.session_id))
    return JSONResponse(redact({"ok": True, **result}))


@router.post(
    "/api/session/undo",
    summary="Remove the last exchange",
    response_model=replies.Undone,
    responses=errors(404, 409),
)
def undo(body: SessionRef) -> JSONResponse:
    result = session_ops.undo_last(require_session_id(body.session_id))
    return JSONResponse(redact({"ok": True, **result}))


@router.get(
    "/api/session/status",
    summary="A session's summary and whether a run is live",
    response_model=replies.SessionStatus,
    responses=errors(404),
    openapi_extra=SESSION_ID_QUERY,
)
def status(session_id: str | None = SESSION_ID_CHECKED) -> JSONResponse:
    sid = _query_session_id(session_id, "Missing session_id")
    return JSONResponse(redact(session_ops.session_status(sid)), headers=NO_STORE)


@router.get(
    "/api/session/usage",
    summary="A session's token and cost totals and context fill",
    response_model=replies.SessionUsage,
    responses=errors(404),
    openapi_extra=SESSION_ID_QUERY,
)
def usage(session_id: str | None = SESSION_ID_CHECKED) -> JSONResponse:
    sid = _query_session_id(session_id, "Missing session_id")
    return JSONResponse(session_ops.session_usage(sid), headers=NO_STORE)
