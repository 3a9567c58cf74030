"""Session listing SQL: previews, lineage ordering and compression-tip projection.

Kept apart from the store because a sidebar row is not a plain `sessions` row: it carries a
preview and last activity, hides compression continuations behind their root, and shows a
compressed conversation as its live tip. The lineage walk is shared with the message methods.
"""

from __future__ import annotations

import sqlite3
from typing import Any

PREVIEW_CHARS = 60
_LINEAGE_MAX_HOPS = 100


# -- listing ----------------------------------------------------------------------------------

# The preview reads the first user message's text from the word index, which holds every
# message as plain text (structured parts flattened), so a huge multimodal message is never
# loaded just to show 60 characters of it.
_RICH_COLUMNS = """s.*,
    COALESCE((SELECT MAX(m.timestamp) FROM messages AS m WHERE m.session_id = s.id),
             s.started_at) AS last_active,
    (SELECT substr(f.content, 1, 200) FROM messages_fts AS f WHERE f.rowid = (
        SELECT m.id FROM messages AS m WHERE m.session_id = s.id AND m.role = 'user'
        ORDER BY m.timestamp, m.id LIMIT 1)) AS preview"""

# Roots and branches are listed; compression continuations are reached through their root, and
# a sub-agent's session (`delegated_from`) through the conversation that delegated to it.
_LISTED = """(s.delegated_from IS NULL AND (s.parent_session_id IS NULL OR EXISTS (
    SELECT 1 FROM sessions AS p WHERE p.id = s.parent_session_id AND p.end_reason = 'branched'
    AND p.ended_at IS NOT NULL AND s.started_at >= p.ended_at)))"""

_PROJECTED_FROM_TIP = (
    "id",
    "ended_at",
    "end_reason",
    "message_count",
    "tool_call_count",
    "last_active",
    "model",
    "system_prompt",
)


def _by_lineage_activity(where: str) -> str:
    """Rows ordered by the latest activity anywhere in their compression lineage.

    The page is cut before the preview and last-activity columns are computed, so they are
    computed for the rows shown rather than for every session.
    """
    return f"""
    WITH RECURSIVE lineage(root_id, node_id, depth) AS (
        SELECT s.id, s.id, 0 FROM sessions AS s WHERE {where}
        UNION ALL
        SELECT l.root_id, c.id, l.depth + 1
        FROM lineage AS l
        JOIN sessions AS p ON p.id = l.node_id
        JOIN sessions AS c ON c.parent_session_id = p.id
        WHERE p.end_reason = 'compression' AND c.started_at >= p.ended_at
          AND l.depth < {_LINEAGE_MAX_HOPS}
    ),
    page(root_id, active, started_at) AS (
        SELECT l.root_id, MAX(COALESCE(
            (SELECT MAX(m.timestamp) FROM messages AS m WHERE m.session_id = l.node_id),
            n.started_at)), r.started_at
        FROM lineage AS l
        JOIN sessions AS n ON n.id = l.node_id
        JOIN sessions AS r ON r.id = l.root_id
        GROUP BY l.root_id
        ORDER BY 2 DESC, 3 DESC LIMIT ? OFFSET ?
    )
    SELECT {_RICH_COLUMNS} FROM page JOIN sessions AS s ON s.id = page.root_id
    ORDER BY page.active DESC, page.started_at DESC"""


def _preview(text: str | None) -> str:
    flat = " ".join((text or "").split())
    return flat[:PREVIEW_CHARS] + "..." if len(flat) > PREVIEW_CHARS else flat


def _rich_row(row: sqlite3.Row) -> dict[str, Any]:
    result = dict(row)
    result["preview"] = _preview(result["preview"])
    return result


def _compression_tip(conn: sqlite3.Connection, session_id: str) -> str | None:
    row = conn.execute(
        "SELECT id, end_reason, ended_at FROM sessions WHERE id = ?", (session_id,)
    ).fetchone()
    if row is None:
        return None
    seen = {row["id"]}
    for _ in range(_LINEAGE_MAX_HOPS):
        if row["end_reason"] != "compression" or row["ended_at"] is None:
            break
        child = conn.execute(
            "SELECT id, end_reason, ended_at FROM sessions WHERE parent_session_id = ? "
            "AND started_at >= ? ORDER BY started_at DESC, rowid DESC LIMIT 1",
            (row["id"], row["ended_at"]),
        ).fetchone()
        if child is None or child["id"] in seen:
            break
        seen.add(child["id"])
        row = child
    return row["id"]


def _project_tip(conn: sqlite3.Connection, root: dict[str, Any]) -> dict[str, Any]:
    """Show a compressed conversation as its live tip, under the root's start time."""
    tip_id = _compression_tip(conn, root["id"])
    if tip_id is None or tip_id == root["id"]:
        return root
    tip = _rich_row(
        conn.execute(
            f"SELECT {_RICH_COLUMNS} FROM sessions AS s WHERE s.id = ?", (tip_id,)
        ).fetchone()
    )
    projected = dict(root)
    projected.update({key: tip[key] for key in _PROJECTED_FROM_TIP})
    projected["title"] = tip["title"] or root["title"]
    projected["preview"] = tip["preview"] or root["preview"]
    projected["_lineage_root_id"] = root["id"]
    return projected
