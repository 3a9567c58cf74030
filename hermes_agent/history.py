"""Changes to a stored conversation outside a turn: undo, branching, manual compression,
resuming.

Shared by the surfaces that keep their conversations in state.db (the terminal and the chat
apps). A session's history is what its current store session holds (the agent records every
message as it completes, keeping the row id on it, and a compression's continuation starts
with the compressed history), so an undo deletes the undone rows too: the turn does not come
back on resume, nor show up in search.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from hermes_agent.attachment_content import keep_files_for
from hermes_agent.errors import NotFound, StoreError
from hermes_state.messages import ROW_ID

if TYPE_CHECKING:
    from hermes_agent.attachments import AttachmentStore
    from hermes_state import ConversationStore

log = logging.getLogger(__name__)

BRANCH_SUFFIX = " (branch)"


def last_user_index(history: list[dict[str, Any]]) -> int | None:
    return next(
        (i for i in range(len(history) - 1, -1, -1) if history[i].get("role") == "user"), None
    )


def forget(db: ConversationStore | None, session_id: str, removed: list[dict[str, Any]]) -> None:
    """Delete the stored rows of messages taken out of conversation `session_id` (an undo),
    named by their row ids: the same words said earlier are never mistaken for them."""
    rows = [m[ROW_ID] for m in removed if isinstance(m.get(ROW_ID), int)]
    if db is None or not rows:
        return
    try:
        db.delete_messages(session_id, rows)
    except StoreError as exc:
        log.warning("could not delete %d undone message(s): %s", len(rows), exc)


def store_branch(
    db: ConversationStore,
    of: str,
    history: list[dict[str, Any]],
    copy_id: str,
    *,
    files: AttachmentStore,
    platform: str,
    model: str | None,
    user_id: str | None = None,
) -> str | None:
    """Record `history` (conversation `of`'s) as new session `copy_id`, titled "<title>
    (branch)" when `of` has a title, carrying the same files; the title given, if any. The
    source is only read."""
    copied = [{k: v for k, v in m.items() if k != ROW_ID} for m in history]
    db.create_session(copy_id, platform, model=model, user_id=user_id)
    db.replace_messages(copy_id, copied)
    keep_files_for(files, copy_id, copied)
    base = db.get_session_title(of)
    title = db.get_next_title_in_lineage(f"{base}{BRANCH_SUFFIX}") if base else None
    if title:
        db.set_session_title(copy_id, title)
    return title


def compress(agent: Any, history: list[dict[str, Any]], cancel: threading.Event) -> list | None:
    """The history with its middle summarised, or None when it is too short to compress or
    `cancel` was set meanwhile (then nothing changed).

    With a store, the agent continues in a child session, as after an automatic compression.
    """
    compressor = agent.context_compressor
    if not compressor.can_compress(history):
        return None
    compressed = compressor.compress(history, cancel)
    if cancel.is_set():
        return None
    if agent.session_db is not None:
        # AIAgent has no public entry point for a compression outside a turn; this is the
        # same rotation its own compressions go through.
        agent._rotate_session(compressed)
    return compressed


def find_session(db: ConversationStore, wanted: str) -> str:
    """A session id from an id, a unique id prefix or a title; NotFound otherwise."""
    session_id = db.resolve_session_id(wanted) or db.resolve_session_by_title(wanted)
    if not session_id:
        raise NotFound(f"no session matches {wanted!r}")
    return session_id


def resume_target(db: ConversationStore, wanted: str) -> str:
    """The stored session to continue for `wanted` (id, id prefix or title): a compressed
    conversation continues from its newest continuation, an empty one from the first
    descendant that has messages. NotFound when nothing matches."""
    target = find_session(db, wanted)
    return db.resolve_resume_session_id(db.get_compression_tip(target) or target)
