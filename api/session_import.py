"""Turning an uploaded transcript into a stored session, refusing what cannot be stored."""

from __future__ import annotations

import orjson

from api import config
from api.config import CACHE
from api.models import Session, title_from
from api.schemas import MESSAGE_ROLES, ImportSession
from api.session_ops import TITLE_MAX
from api.workspaces import resolve_trusted_workspace
from hermes_agent.attachment_content import keep_files_for
from hermes_agent.errors import BadRequest, PayloadTooLarge
from hermes_agent.runtime import attachment_store
from hermes_agent.turn import ROW_ID

ROLES = frozenset(MESSAGE_ROLES)
IMPORTED_TITLE = "Imported session"


def import_session(body: ImportSession) -> Session:
    """Validate, then save under a fresh id. Nothing is written when anything is refused."""
    _check_messages(body.messages)
    tool_calls = [call.model_dump(exclude_none=True) for call in body.tool_calls or ()]
    for i, call in enumerate(tool_calls):
        if call["assistant_msg_idx"] >= len(body.messages):
            raise BadRequest(f"tool_calls[{i}].assistant_msg_idx is past the last message")
    title = " ".join((body.title or "").split())[:TITLE_MAX]
    workspace = resolve_trusted_workspace(body.workspace) if body.workspace else None
    session = Session(
        title=title or title_from(body.messages, IMPORTED_TITLE),
        workspace=workspace,
        model=body.model,
        # Row ids name rows of this server's state.db: never taken from a file.
        messages=[{k: v for k, v in m.items() if k != ROW_ID} for m in body.messages],
        tool_calls=tool_calls,
        pinned=body.pinned,
    )
    return store_new_session(session)


def store_new_session(session: Session) -> Session:
    """Save a session made whole elsewhere (imported, branched) and keep the files its
    messages carry for it: they live as long as the conversations that carry them."""
    try:
        session.save()
    except orjson.JSONEncodeError as exc:
        raise BadRequest(f"messages cannot be stored: {exc}") from None
    CACHE.keep(session)
    keep_files_for(attachment_store(), session.session_id, session.messages)
    return session


def _check_messages(messages: list[dict]) -> None:
    if len(messages) > config.MAX_IMPORT_MESSAGES:
        raise PayloadTooLarge(
            f"Import has {len(messages)} messages; the limit is {config.MAX_IMPORT_MESSAGES}"
        )
    for i, message in enumerate(messages):
        role = message.get("role")
        if not isinstance(role, str) or role not in ROLES:
            raise BadRequest(f"messages[{i}].role must be one of: {', '.join(sorted(ROLES))}")
        content = message.get("content")
        if content is not None and not isinstance(content, str | list):
            raise BadRequest(f"messages[{i}].content must be a string, a list of parts or null")
