"""`hermes sessions list|show|search|export`: read every surface's sessions in state.db."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, Any

from hermes_agent.history import find_session

if TYPE_CHECKING:
    from hermes_state import ConversationStore

PREVIEW = 50


def add_parser(commands: argparse._SubParsersAction) -> None:
    sessions = commands.add_parser(
        "sessions",
        help="list, show, search and export recorded sessions",
        description="Sessions from every surface (web, terminal, chat apps, hermes chat), "
        "as recorded in $HERMES_HOME/state.db.",
    )
    actions = sessions.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the most recent sessions")
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--source", help="only this surface (cli, web, tui, telegram, ...)")
    listing.set_defaults(run=_list)
    show = actions.add_parser("show", help="print one session's transcript")
    show.add_argument("session", help="id, unique id prefix or title")
    show.set_defaults(run=_show)
    search = actions.add_parser("search", help="full-text search over messages")
    search.add_argument("query")
    search.add_argument("--limit", type=int, default=20)
    search.set_defaults(run=_search)
    export = actions.add_parser("export", help="write a session as JSON or Markdown")
    export.add_argument("session", help="id, unique id prefix or title")
    export.add_argument("--format", choices=["json", "md"], default="json")
    export.add_argument("--output", "-o", help="file to write (default: standard output)")
    export.set_defaults(run=_export)


def _db() -> ConversationStore:
    from hermes_agent.runtime import open_store
    from hermes_agent.settings import load_settings

    return open_store(load_settings())


def _when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp)) if stamp else "-"


def _list(args: argparse.Namespace) -> int:
    rows = _db().list_sessions_rich(source=args.source, limit=args.limit)
    if not rows:
        print("No sessions yet.")
        return 0
    print(f"{'ID':<24} {'SOURCE':<9} {'MSGS':>5}  {'LAST ACTIVE':<16}  TITLE")
    for row in rows:
        title = row.get("title") or row.get("preview") or ""
        print(
            f"{row['id']:<24} {row.get('source') or '-':<9} {row.get('message_count') or 0:>5}  "
            f"{_when(row.get('last_active')):<16}  {title[:PREVIEW]}"
        )
    return 0


def _show(args: argparse.Namespace) -> int:
    db = _db()
    session_id = find_session(db, args.session)
    row = db.get_session(session_id)
    print(f"# {row.get('title') or session_id}")
    print(f"id {session_id} · source {row.get('source')} · model {row.get('model') or '-'}")
    for message in db.get_messages_as_conversation(session_id):
        print(f"\n[{message['role']}]")
        print(_text(message))
    return 0


def _search(args: argparse.Namespace) -> int:
    hits = _db().search_messages(args.query, limit=args.limit)
    if not hits:
        print("No matches.")
        return 0
    for hit in hits:
        snippet = " ".join(str(hit.get("snippet") or "").split())
        print(f"{hit['session_id']:<24} {hit.get('role', ''):<9} {snippet}")
    return 0


def _export(args: argparse.Namespace) -> int:
    db = _db()
    data = db.export_session(find_session(db, args.session))
    text = (
        json.dumps(data, indent=2, ensure_ascii=False) if args.format == "json" else _markdown(data)
    )
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        print(text)
    return 0


def _markdown(data: dict[str, Any]) -> str:
    lines = [f"# {data.get('title') or data.get('id')}", ""]
    for message in data.get("messages", []):
        lines += [f"## {str(message.get('role', '?')).capitalize()}", "", _text(message), ""]
    return "\n".join(lines)


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        text = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    else:
        text = ""
    if message.get("tool_calls"):
        calls = ", ".join(c.get("function", {}).get("name", "?") for c in message["tool_calls"])
        text = (text + f"\n(calls: {calls})").strip()
    return text
