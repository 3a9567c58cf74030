"""Chat routes: start a run, follow it over SSE (resumable, many readers), cancel it,
and answer the approvals it asks for."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import StreamingResponse

from api import replies, side_runs, streaming
from api.config import STREAMS, STREAMS_LOCK
from api.models import get_session
from api.openapi_extras import (
    SESSION_ID_CHECKED,
    SESSION_ID_QUERY,
    STREAM_ID_CHECKED,
    STREAM_ID_QUERY,
    errors,
)
from api.responses import NO_STORE, JSONResponse
from api.run_events import FINISHED_RUNS, TERMINAL_EVENTS, RunLog, parse_event_id
from api.schemas import ApprovalAnswer, BackgroundTask, ChatStart, SideQuestion, StreamRef
from api.storage import dumps
from api.validation import require_session_id
from api.workspaces import resolve_trusted_workspace
from hermes_agent.approval_queue import APPROVALS, CHOICES
from hermes_agent.attachments import ID_PATTERN, MAX_PER_MESSAGE, AttachmentStore
from hermes_agent.errors import BadRequest, NotFound
from hermes_agent.runtime import attachment_store

router = APIRouter(tags=["chat"])

HEARTBEAT_SECONDS = 15.0
MAX_ATTACHMENTS = 20
SSE_EVENT = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "description": "`<stream_id>:<seq>`; resume after it"},
        "event": {"type": "string", "description": "token, tool, done, stream_end, ..."},
        "data": {"type": "string", "contentMediaType": "application/json"},
        "retry": {"type": "integer", "minimum": 0},
    },
}
EVENT_STREAM = {
    "description": "The run's events, then the end of the stream after its last one",
    "content": {"text/event-stream": {"itemSchema": SSE_EVENT}},
}
CANCELLED = {"response_model": replies.Cancelled}


@router.post(
    "/api/chat/start",
    summary="Start a turn; the message is saved before it runs",
    response_model=replies.RunStarted,
    responses=errors(404, 409),
)
def chat_start(body: ChatStart) -> JSONResponse:
    sid = require_session_id(body.session_id)
    message = body.message.strip()
    if not message:
        raise BadRequest("message is required")
    session = get_session(sid)
    workspace = str(resolve_trusted_workspace(body.workspace or session.workspace))
    attachments = _attachments(sid, body.attachments or [])
    # No model keeps the conversation's; "" goes back to the default from the settings.
    model = session.model if body.model is None else body.model.strip()
    stream_id = streaming.start_run(sid, message, model, workspace, attachments).stream_id
    return JSONResponse({"stream_id": stream_id, "session_id": sid})


def _attachments(session_id: str, given: list[dict | str]) -> list[dict]:
    """Uploaded files (by id, or the upload's reply) as stored; other entries, names only.
    The conversation is recorded as referring to the files, so they live as long as it."""
    store = attachment_store()
    found = [_attachment(store, raw) for raw in given[:MAX_ATTACHMENTS]]
    stored = [a["id"] for a in found if "id" in a]
    if len(stored) > MAX_PER_MESSAGE:
        raise BadRequest(f"at most {MAX_PER_MESSAGE} files a message")
    store.refer(session_id, stored)
    return found


def _attachment(store: AttachmentStore, raw: dict | str) -> dict:
    key = raw.get("id") if isinstance(raw, dict) else raw
    if isinstance(key, str) and ID_PATTERN.match(key):
        return store.get(key).public()
    if isinstance(raw, str):
        return {"name": raw, "path": "", "mime": ""}
    name = raw.get("name") or raw.get("filename") or raw.get("path") or "attachment"
    path, mime = raw.get("path") or "", raw.get("mime") or ""
    return {"name": str(name), "path": str(path), "mime": str(mime)}


def _run_log(stream_id: str | None) -> RunLog:
    if not stream_id:
        raise BadRequest("stream_id is required")
    with STREAMS_LOCK:
        live = STREAMS.get(stream_id)
    found = live.log if live is not None else FINISHED_RUNS.get(stream_id)
    if found is None:
        raise NotFound("stream not found")
    return found


@router.get(
    "/api/chat/stream",
    summary="The run's events as SSE; resume with Last-Event-ID",
    response_class=StreamingResponse,
    responses={200: EVENT_STREAM, **errors(404)},
    openapi_extra=STREAM_ID_QUERY,
)
async def chat_stream(
    request: Request,
    stream_id: str | None = STREAM_ID_CHECKED,
    after: str | None = Query(None, description="Resume after this event id."),
) -> StreamingResponse:
    run_log = _run_log(stream_id)
    cursor = parse_event_id(request.headers.get("last-event-id") or after, run_log.stream_id)
    return StreamingResponse(
        _sse(run_log, cursor),
        media_type="text/event-stream; charset=utf-8",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _sse(run_log: RunLog, seq: int) -> AsyncIterator[bytes]:
    """Every event after `seq`, then heartbeats while the run is quiet, until it ends."""
    yield b"retry: 2000\n\n"
    while True:
        batch = await run_log.wait_after(seq, HEARTBEAT_SECONDS)
        if not batch:
            if run_log.finished:
                return
            yield b": heartbeat\n\n"
            continue
        chunk, ended = b"", False
        for event in batch:
            seq = event.seq
            chunk += (
                f"id: {run_log.stream_id}:{event.seq}\nevent: {event.name}\ndata: ".encode()
                + dumps(event.data)
                + b"\n\n"
            )
            if event.name in TERMINAL_EVENTS:
                ended = True
                break
        yield chunk  # one write per batch: a fast stream is not one syscall per token
        if ended:
            return


@router.get(
    "/api/chat/stream/status",
    summary="Whether a run is live",
    response_model=replies.StreamStatus,
    openapi_extra=STREAM_ID_QUERY,
)
def stream_status(stream_id: str | None = STREAM_ID_CHECKED) -> JSONResponse:
    if not stream_id:
        raise BadRequest("stream_id is required")
    with STREAMS_LOCK:
        active = stream_id in STREAMS
    run_log = None if active else FINISHED_RUNS.get(stream_id)
    return JSONResponse(
        {"active": active, "stream_id": stream_id, "finished": run_log is not None},
        headers=NO_STORE,
    )


def _cancel(stream_id: str | None) -> JSONResponse:
    if not stream_id:
        raise BadRequest("stream_id is required")
    cancelled = streaming.cancel_stream(stream_id)
    return JSONResponse({"ok": True, "cancelled": cancelled, "stream_id": stream_id})


@router.get(
    "/api/chat/cancel",
    summary="Cancel a run (GET, for older clients)",
    openapi_extra=STREAM_ID_QUERY,
    **CANCELLED,
)
def cancel_get(stream_id: str | None = STREAM_ID_CHECKED) -> JSONResponse:
    return _cancel(stream_id)


@router.post("/api/chat/cancel", summary="Cancel a run", **CANCELLED)
def cancel_post(body: StreamRef) -> JSONResponse:
    return _cancel(body.stream_id)


@router.get(
    "/api/approval/pending",
    summary="Commands waiting for the user's decision",
    response_model=replies.ApprovalsPending,
    openapi_extra=SESSION_ID_QUERY,
)
def approval_pending(session_id: str | None = SESSION_ID_CHECKED) -> JSONResponse:
    sid = require_session_id(session_id)
    pending = [item.public() for item in APPROVALS.pending(sid)]
    return JSONResponse(
        {"pending": pending[0] if pending else None, "pending_count": len(pending), "all": pending},
        headers=NO_STORE,
    )


@router.post(
    "/api/approval/respond",
    summary="Answer a pending approval",
    response_model=replies.ApprovalAnswered,
    responses=errors(404),
)
def approval_respond(body: ApprovalAnswer) -> JSONResponse:
    sid = require_session_id(body.session_id)
    if body.choice not in CHOICES:
        raise BadRequest(f"choice must be one of: {', '.join(CHOICES)}")
    if not APPROVALS.respond(sid, body.choice, body.approval_id):
        raise NotFound("No pending approval")
    return JSONResponse({"ok": True, "choice": body.choice})


@router.post(
    "/api/btw",
    summary="Ask a side question; the conversation itself is not changed",
    response_model=replies.AsideStarted,
    responses=errors(404, 409),
)
def btw(body: SideQuestion) -> JSONResponse:
    question = body.question.strip()
    if not question:
        raise BadRequest("question is required")
    return JSONResponse(side_runs.ask_aside(require_session_id(body.session_id), question))


@router.post(
    "/api/background",
    summary="Run a prompt as a background task of this session",
    response_model=replies.BackgroundStarted,
    responses=errors(404, 409),
)
def background(body: BackgroundTask) -> JSONResponse:
    prompt = body.prompt.strip()
    if not prompt:
        raise BadRequest("prompt is required")
    task = side_runs.start_background(require_session_id(body.session_id), prompt)
    return JSONResponse(
        {"task_id": task.task_id, "stream_id": task.run.stream_id, "session_id": task.session_id}
    )


@router.get(
    "/api/background/status",
    summary="Finished background tasks (each returned once)",
    response_model=replies.BackgroundResults,
    openapi_extra=SESSION_ID_QUERY,
)
def background_status(session_id: str | None = SESSION_ID_CHECKED) -> JSONResponse:
    if not session_id:
        raise BadRequest("Missing session_id")
    results = side_runs.background_results(require_session_id(session_id))
    return JSONResponse({"results": results}, headers=NO_STORE)
