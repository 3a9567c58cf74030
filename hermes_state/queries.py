"""SessionDB's read-side queries: sidebar listing, full-text search, counts and export.

Kept apart from the core so that the methods answering "which sessions, which messages" sit
together; the SQL they run is planned by `hermes_state.listing` and `hermes_state.search`, and
every query runs in one snapshot through SessionDB's `_read`.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from typing import Any

from hermes_state.listing import (
    _LISTED,
    _RICH_COLUMNS,
    _by_lineage_activity,
    _project_tip,
    _rich_row,
)
from hermes_state.messages import content_text, decode_content
from hermes_state.search import (
    _RANK_WINDOW,
    CONTEXT_CHARS,
    _as_list,
    _escape_like,
    _in_clause,
    _marked_snippet,
    _query_pieces,
    _search_filters,
    _search_plan,
    _search_sql,
    _SearchPlan,
)

# The whole package logs as "hermes_state", the name log configuration and filters refer to.
log = logging.getLogger("hermes_state")


class QueriesMixin:
    """The listing, search, count and export methods of SessionDB; they rely on its `_read`."""

    # -- listing and search ------------------------------------------------------------------

    def list_sessions_rich(
        self,
        source: str | None = None,
        *,
        exclude_sources: Iterable[str] | None = None,
        limit: int = 20,
        offset: int = 0,
        include_children: bool = False,
        project_compression_tips: bool = True,
        order_by_last_active: bool = False,
    ) -> list[dict[str, Any]]:
        """Sessions for a sidebar, newest first, each with `preview` and `last_active`.

        Without `include_children`, only roots and branches are listed, and a compressed
        conversation appears as its newest continuation (`_lineage_root_id` names the root).
        """
        where, params = "1", []
        if source is not None:
            where += " AND s.source = ?"
            params.append(source)
        excluded = _as_list(exclude_sources)
        if excluded:
            where += _in_clause("s.source", excluded, negate=True)
            params.extend(excluded)
        if not include_children:
            where += f" AND {_LISTED}"
        if order_by_last_active:
            sql = _by_lineage_activity(where)
        else:
            sql = (
                f"SELECT {_RICH_COLUMNS} FROM sessions AS s WHERE {where} "
                "ORDER BY s.started_at DESC LIMIT ? OFFSET ?"
            )
        project = project_compression_tips and not include_children

        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = [_rich_row(r) for r in conn.execute(sql, (*params, limit, offset))]
            if not project:
                return rows
            return [_project_tip(conn, r) if r["end_reason"] == "compression" else r for r in rows]

        return self._read(read)

    def search_sessions(
        self, source: str | None = None, limit: int = 20, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Session rows with `last_active`, most recent activity first."""
        where = "WHERE s.source = ?" if source is not None else ""
        params = (source,) if source is not None else ()
        rows = self._read(
            lambda conn: conn.execute(
                "SELECT s.*, COALESCE((SELECT MAX(m.timestamp) FROM messages AS m "
                "WHERE m.session_id = s.id), s.started_at) AS last_active "
                f"FROM sessions AS s {where} ORDER BY last_active DESC LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        )
        return [dict(row) for row in rows]

    def search_messages(
        self,
        query: str,
        *,
        source_filter: str | Iterable[str] | None = None,
        exclude_sources: Iterable[str] | None = None,
        role_filter: str | Iterable[str] | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Full-text search over every message; any user text is a safe query.

        Results are best first, with a `>>>match<<<` snippet and the neighbouring messages as
        `context`. CJK text (which the word index cannot split) is matched as substrings.
        Sub-agents' sessions are left out, as listings leave them out.
        """
        plan = _search_plan(_query_pieces(query or ""))
        if plan is None:
            return []
        filters, params = _search_filters(source_filter, exclude_sources, role_filter)
        params.update({"match": plan.match, "limit": limit, "offset": offset})
        params.update({f"like{i}": f"%{_escape_like(t)}%" for i, t in enumerate(plan.likes)})

        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            try:
                rows = self._ranked_rows(conn, plan, filters, params)
            except sqlite3.OperationalError as exc:
                message = str(exc).lower()
                if "fts5" not in message and "syntax" not in message:
                    raise
                log.warning("search query %r rejected by FTS5: %s", query, exc)
                return []
            results = [dict(row) for row in rows]
            for result in results:
                snippet = result["snippet"] or ""
                result["snippet"] = (
                    snippet.strip() if plan.match else _marked_snippet(snippet, plan.terms)
                )
                result["context"] = self._context(conn, result["session_id"], result["id"])
            return results

        return self._read(read)

    @staticmethod
    def _ranked_rows(
        conn: sqlite3.Connection, plan: _SearchPlan, filters: str, params: dict[str, Any]
    ) -> list[sqlite3.Row]:
        """Rank within the newest matches when there are many; rank them all when the filters
        leave that window short of a full page."""
        if plan.match:
            window = max(_RANK_WINDOW, 10 * (params["limit"] + params["offset"]))
            edge = conn.execute(
                f"SELECT rowid FROM {plan.table} WHERE {plan.table} MATCH ? "
                "ORDER BY rowid DESC LIMIT 1 OFFSET ?",
                (plan.match, window - 1),
            ).fetchone()
            if edge is not None:
                sql = _search_sql(plan, filters, floor=True)
                rows = conn.execute(sql, {**params, "floor": edge[0]}).fetchall()
                if len(rows) >= params["limit"]:
                    return rows
        return conn.execute(_search_sql(plan, filters, floor=False), params).fetchall()

    @staticmethod
    def _context(conn: sqlite3.Connection, session_id: str, message_id: int) -> list[dict]:
        """The message before, the message, and the one after (text only, 200 chars each)."""
        rows = conn.execute(
            "SELECT id, role, content FROM messages WHERE id IN ("
            "(SELECT MAX(id) FROM messages WHERE session_id = :s AND id < :id), :id, "
            "(SELECT MIN(id) FROM messages WHERE session_id = :s AND id > :id)) ORDER BY id",
            {"s": session_id, "id": message_id},
        ).fetchall()
        return [
            {
                "role": row["role"],
                "content": content_text(decode_content(row["content"]))[:CONTEXT_CHARS],
            }
            for row in rows
        ]

    def _count(self, table: str, column: str, value: str | None) -> int:
        where, params = (f"WHERE {column} = ?", (value,)) if value is not None else ("", ())
        row = self._read(
            lambda conn: conn.execute(f"SELECT COUNT(*) FROM {table} {where}", params).fetchone()
        )
        return row[0]

    def session_count(self, source: str | None = None) -> int:
        return self._count("sessions", "source", source)

    def message_count(self, session_id: str | None = None) -> int:
        return self._count("messages", "session_id", session_id)

    def export_session(self, session_id: str) -> dict[str, Any] | None:
        """The session row with its decoded `messages`, or None."""
        session = self.get_session(session_id)
        if session is None:
            return None
        return {**session, "messages": self.get_messages(session_id)}

    def export_all(self, source: str | None = None) -> list[dict[str, Any]]:
        where, params = ("WHERE source = ?", (source,)) if source is not None else ("", ())
        ids = self._read(
            lambda conn: [
                row["id"]
                for row in conn.execute(
                    f"SELECT id FROM sessions {where} ORDER BY started_at", params
                )
            ]
        )
        exports = (self.export_session(sid) for sid in ids)
        return [e for e in exports if e is not None]
