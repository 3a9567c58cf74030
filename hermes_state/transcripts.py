"""SessionDB's message methods: appending, replacing and reading a session's transcript.

Kept apart from the core so that everything a session's transcript goes through (counters kept
in step with each write, the parent chain for a conversation with its ancestors, the walk to a
compression tip or a resumable descendant) sits together. Rows are encoded and decoded by
`hermes_state.messages`; every query runs through SessionDB's `_read` and `_execute_write`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from typing import Any

from hermes_state.listing import _LINEAGE_MAX_HOPS, _compression_tip
from hermes_state.messages import (
    _INSERT_MESSAGE,
    _conversation_entry,
    _decode_message,
    _drop_repeated_user_turns,
    _loads,
    _message_values,
    _tool_call_total,
)

_RESUME_MAX_DEPTH = 32
_ID_BATCH = 500  # below SQLite's limit on bound parameters


class MessagesMixin:
    """The message methods of SessionDB; they rely on its `_read` and `_execute_write`."""

    # -- messages ----------------------------------------------------------------------------

    def append_message(
        self,
        session_id: str,
        role: str,
        content: Any = None,
        *,
        tool_name: str | None = None,
        tool_calls: Any = None,
        tool_call_id: str | None = None,
        token_count: int | None = None,
        finish_reason: str | None = None,
        reasoning: str | None = None,
        reasoning_content: str | None = None,
        reasoning_details: Any = None,
        codex_reasoning_items: Any = None,
        codex_message_items: Any = None,
    ) -> int:
        """Append one message and bump the session's counters; returns the message id.
        A session that does not exist raises StoreError."""
        message = {
            "role": role,
            "content": content,
            "tool_name": tool_name,
            "tool_calls": tool_calls,
            "tool_call_id": tool_call_id,
            "token_count": token_count,
            "finish_reason": finish_reason,
            "reasoning": reasoning,
            "reasoning_content": reasoning_content,
            "reasoning_details": reasoning_details,
            "codex_reasoning_items": codex_reasoning_items,
            "codex_message_items": codex_message_items,
        }
        values = _message_values(session_id, message, time.time())
        calls = _tool_call_total(tool_calls)

        def write(conn: sqlite3.Connection) -> int:
            message_id = conn.execute(_INSERT_MESSAGE, values).lastrowid
            conn.execute(
                "UPDATE sessions SET message_count = COALESCE(message_count, 0) + 1, "
                "tool_call_count = COALESCE(tool_call_count, 0) + ? WHERE id = ?",
                (calls, session_id),
            )
            return message_id

        return self._execute_write(write)

    def replace_messages(self, session_id: str, messages: Iterable[dict[str, Any]]) -> None:
        """Swap the whole transcript in one transaction and recount; timestamps step by 1 µs."""
        messages = list(messages)
        start = time.time()
        rows = [_message_values(session_id, m, start + i * 1e-6) for i, m in enumerate(messages)]
        calls = sum(_tool_call_total(m.get("tool_calls")) for m in messages)

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM messages WHERE session_id = ?", (session_id,))
            conn.executemany(_INSERT_MESSAGE, rows)
            conn.execute(
                "UPDATE sessions SET message_count = ?, tool_call_count = ? WHERE id = ?",
                (len(rows), calls, session_id),
            )

        self._execute_write(write)

    def clear_messages(self, session_id: str) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM messages WHERE session_id = ?", (session_id,))
            conn.execute(
                "UPDATE sessions SET message_count = 0, tool_call_count = 0 WHERE id = ?",
                (session_id,),
            )

        self._execute_write(write)

    def messages_after(self, session_id: str, row_id: int | None) -> list[dict[str, Any]]:
        rows = self._read(
            lambda conn: conn.execute(
                "SELECT * FROM messages WHERE session_id = ? AND id > ? ORDER BY id",
                (session_id, row_id if row_id is not None else -1),
            ).fetchall()
        )
        return [_conversation_entry(_decode_message(row), with_row_id=True) for row in rows]

    def last_message_id(self, session_id: str) -> int | None:
        row = self._read(
            lambda conn: conn.execute(
                "SELECT MAX(id) FROM messages WHERE session_id = ?", (session_id,)
            ).fetchone()
        )
        return row[0]

    def delete_messages(self, session_id: str, row_ids: Iterable[int]) -> int:
        ids = sorted({int(i) for i in row_ids})
        lineage = self._ancestry(session_id) if ids else []
        within = f"session_id IN ({','.join('?' * len(lineage))})"

        def write(conn: sqlite3.Connection) -> int:
            deleted = 0
            for start in range(0, len(ids), _ID_BATCH):
                batch = ids[start : start + _ID_BATCH]
                where = f"id IN ({','.join('?' * len(batch))}) AND {within}"
                rows = conn.execute(
                    f"SELECT session_id, tool_calls FROM messages WHERE {where}", [*batch, *lineage]
                ).fetchall()
                conn.execute(f"DELETE FROM messages WHERE {where}", [*batch, *lineage])
                for row in rows:
                    conn.execute(
                        "UPDATE sessions SET message_count = MAX(0, message_count - 1), "
                        "tool_call_count = MAX(0, tool_call_count - ?) WHERE id = ?",
                        (_tool_call_total(_loads(row["tool_calls"])), row["session_id"]),
                    )
                deleted += len(rows)
            return deleted

        return self._execute_write(write) if ids else 0

    def get_messages(self, session_id: str) -> list[dict[str, Any]]:
        rows = self._read(
            lambda conn: conn.execute(
                "SELECT * FROM messages WHERE session_id = ? ORDER BY id", (session_id,)
            ).fetchall()
        )
        return [_decode_message(row) for row in rows]

    def _ancestry(self, session_id: str) -> list[str]:
        """The parent chain, root first, ending with `session_id` (loop-safe, bounded)."""

        def walk(conn: sqlite3.Connection) -> list[str]:
            chain = [session_id]
            for _ in range(_LINEAGE_MAX_HOPS):
                row = conn.execute(
                    "SELECT parent_session_id FROM sessions WHERE id = ?", (chain[-1],)
                ).fetchone()
                parent = row["parent_session_id"] if row else None
                if parent is None or parent in chain:
                    break
                chain.append(parent)
            return chain[::-1]

        return self._read(walk)

    def get_messages_as_conversation(
        self, session_id: str, include_ancestors: bool = False, *, with_row_ids: bool = False
    ) -> list[dict[str, Any]]:
        """The transcript as OpenAI-style chat messages; with `include_ancestors`, the whole
        lineage from the root, without the user turn a continuation repeats."""
        ids = self._ancestry(session_id) if include_ancestors else [session_id]
        messages = [
            _conversation_entry(m, with_row_id=with_row_ids)
            for sid in ids
            for m in self.get_messages(sid)
        ]
        return _drop_repeated_user_turns(messages) if include_ancestors else messages

    def get_compression_tip(self, session_id: str) -> str | None:
        """The newest continuation reached through compression ends (the id itself when there
        is none; None for an unknown id)."""
        return self._read(lambda conn: _compression_tip(conn, session_id))

    def resolve_resume_session_id(self, session_id: str) -> str:
        """For an empty session, the first descendant (newest child at each step) that has
        messages; otherwise the id itself."""

        def resolve(conn: sqlite3.Connection) -> str:
            current, seen = session_id, {session_id}
            for _ in range(_RESUME_MAX_DEPTH):
                if conn.execute(
                    "SELECT 1 FROM messages WHERE session_id = ? LIMIT 1", (current,)
                ).fetchone():
                    return current
                child = conn.execute(
                    "SELECT id FROM sessions WHERE parent_session_id = ? "
                    "ORDER BY started_at DESC, rowid DESC LIMIT 1",
                    (current,),
                ).fetchone()
                if child is None or child["id"] in seen:
                    break
                current = child["id"]
                seen.add(current)
            return session_id

        return self._read(resolve)
