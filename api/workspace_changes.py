"""The files the agent wrote in a conversation's turns, for the workspace panel's "changed"
marks.

The record is the conversation's own: its calls of `write_file`, `edit_file` and
`save_attachment`, whose arguments name the file, resolved against the workspace by the file
tools' own `resolve_path`, as the tool resolved it. A finished turn's calls are in the
transcript, where a failed call's result is marked; a live turn's are read from state.db, where
the agent records each message as it finishes (the rows a turn cut short is rebuilt from).

A call says what the agent tried, so the file must also be there now, modified since its turn
began: that drops a call that failed in a live turn (state.db keeps no failure flag) and a
file removed since. Modification times are never the record on their own: anything may write
in a workspace (the user, an editor, a build), and finding new files would mean walking the
whole tree. What the agent writes through the terminal tool is not known by name, so it is
not marked.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from api import agent_runtime, runs
from api.models import Session, get_session, is_marker
from api.workspace_files import Workspace, shown, workspace_of
from hermes_agent.compression import SUMMARY_FLAG
from hermes_agent.errors import HermesError, NotFound
from hermes_agent.tools import confined
from hermes_agent.tools.attachment_files import PREFIX as ATTACHMENT_PREFIX
from hermes_agent.tools.files import resolve_path

log = logging.getLogger(__name__)

WRITE_TOOLS = frozenset({"write_file", "edit_file", "save_attachment"})
_UNIX_TIME = re.compile(r"[0-9]{1,12}(\.[0-9]*)?")
MTIME_SLACK_SECONDS = 2.0
"""File systems with coarse clocks stamp a write a little early (FAT keeps 2 s steps)."""


@dataclass(frozen=True)
class Turn:
    started: float | None
    messages: list[dict[str, Any]]


def changed_files(session_id: str, since: str | None) -> dict[str, Any]:
    """The reply of `GET /api/workspace/changes`: the latest turn's changes without `since`;
    with a Unix time, those of every turn begun since; with the id of the conversation's
    live run, that run's."""
    session = get_session(session_id)
    ws = workspace_of(session_id)
    live = runs.live_run_of(session_id)
    turns = _chosen_turns(session, live, since)
    files: dict[str, dict[str, Any]] = {}
    for turn in turns:
        for tool, raw in _write_calls(turn.messages):
            found = _changed_file(ws, raw, turn.started)
            if found is not None:
                files[found["path"]] = {**found, "tool": tool}
    starts = [turn.started for turn in turns if turn.started is not None]
    return {
        "session_id": session_id,
        "live": live is not None,
        "stream_id": live.stream_id if live is not None else None,
        "turn_started_at": min(starts) if starts else None,
        "files": [files[path] for path in sorted(files)],
    }


def _chosen_turns(session: Session, live: runs.Run | None, since: str | None) -> list[Turn]:
    saved = saved_turns(session.messages)
    current = _live_turn(session) if live is not None else None
    if since is None or since == "":
        if current is not None:
            return [current]
        return saved[-1:]
    if live is not None and since == live.stream_id:
        return [current] if current is not None else []
    after = _time(since) if _UNIX_TIME.fullmatch(since) else None
    if after is None:
        raise NotFound("no live run with that stream_id in this conversation")
    chosen = [turn for turn in saved if turn.started is not None and turn.started >= after]
    if current is not None and (current.started is None or current.started >= after):
        chosen.append(current)
    return chosen


def saved_turns(messages: list[Any]) -> list[Turn]:
    """The transcript cut into turns, each from a message of the user's to the next."""
    turns: list[Turn] = []
    for m in messages:
        if not isinstance(m, dict):
            continue
        if m.get("role") == "user" and not m.get(SUMMARY_FLAG) and not is_marker(m):
            turns.append(Turn(_time(m.get("timestamp", m.get("_ts"))), []))
        elif turns:
            turns[-1].messages.append(m)
    return turns


def _live_turn(session: Session) -> Turn:
    """What the running turn's agent has recorded so far, in state.db after the session's
    cursor (empty when the store is unavailable: the turn's changes show once it is saved)."""
    rows: list[dict[str, Any]] = []
    db = agent_runtime.state_db()
    if db is not None:
        try:
            rows = db.messages_after(session.session_id, session.state_cursor)
        except (HermesError, OSError) as exc:
            log.warning("state.db could not be read for %s: %s", session.session_id, exc)
    return Turn(_time(session.pending_started_at), rows)


def _write_calls(messages: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """(tool, path as the model wrote it) of each write call that did not fail."""
    failed = {
        m.get("tool_call_id") for m in messages if m.get("role") == "tool" and m.get("_is_error")
    }
    for m in messages:
        if m.get("role") != "assistant":
            continue
        for call in m.get("tool_calls") or ():
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(function, dict) or function.get("name") not in WRITE_TOOLS:
                continue
            if call.get("id") in failed:
                continue
            path = _target(function["name"], _arguments(function.get("arguments")))
            if path:
                yield function["name"], path


def _arguments(raw: Any) -> dict[str, Any]:
    try:
        parsed = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _target(tool: str, args: dict[str, Any]) -> str | None:
    path = args.get("path")
    if isinstance(path, str) and path:
        return path
    if tool != "save_attachment":
        return None
    # Saved under the attachment's own name when no path was given (see `save_attachment`).
    reference = args.get("attachment")
    if not isinstance(reference, str) or not reference.startswith(ATTACHMENT_PREFIX):
        return None
    from hermes_agent.runtime import attachment_store

    ident = reference[len(ATTACHMENT_PREFIX) :].split("/", 1)[0]
    try:
        return attachment_store().get(ident).filename
    except NotFound:
        return None


def _changed_file(ws: Workspace, raw: str, started: float | None) -> dict[str, Any] | None:
    """The file `raw` names if it is in the workspace now, modified since `started`."""
    try:
        parts = resolve_path(ws.root, ws.protected, raw).relative_to(ws.root).parts
    except HermesError:
        return None  # the tool refused this path too
    if not parts:
        return None
    try:
        with confined.open_dir(ws.root, parts[:-1]) as parent:
            info = os.stat(parts[-1], dir_fd=parent, follow_symlinks=False)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    if started is not None and info.st_mtime < started - MTIME_SLACK_SECONDS:
        return None
    return {"path": shown(parts), "mtime": info.st_mtime, "size": info.st_size}


def _time(value: Any) -> float | None:
    """A Unix time given as a number or as text; None for anything else."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
