"""A new conversation that starts from the first messages of another.

The source is only read: a branch taken while an answer is being written copies what is
saved so far, and editing either conversation afterwards never changes the other. The
branch's files are referred to by it as well, so deleting the source keeps them.
"""

from __future__ import annotations

import copy

from api import turn_messages
from api.models import Session, get_session
from api.session_import import store_new_session
from api.session_ops import TITLE_MAX
from hermes_agent.errors import Conflict
from hermes_agent.history import BRANCH_SUFFIX
from hermes_agent.turn import ROW_ID


def branch_session(session_id: str, keep_count: int) -> Session:
    """Save a new session holding copies of `session_id`'s first `keep_count` messages (all
    of them when it has fewer, as truncating to more than there is keeps everything)."""
    source = get_session(session_id)
    if not source.messages:
        raise Conflict("Nothing to branch: the conversation has no messages yet.")
    kept = copy.deepcopy(source.messages[:keep_count])
    messages = [{k: v for k, v in m.items() if k != ROW_ID} for m in kept]  # rows of the source
    title = source.title[: TITLE_MAX - len(BRANCH_SUFFIX)].rstrip() + BRANCH_SUFFIX
    branch = Session(
        title=title,
        workspace=source.workspace,
        model=source.model,
        messages=messages,
        tool_calls=turn_messages.tool_call_summaries(messages),
        project_id=source.project_id,
        profile=source.profile,
        personality=source.personality,
        context_length=source.context_length,
    )
    return store_new_session(branch)
