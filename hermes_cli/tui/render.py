"""Everything `hermes tui` prints outside a streamed answer: the banner, tables, notices and
past messages. Output goes through one rich Console, so widths and colours stay consistent."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from hermes_cli.tui.stream import Trimmed

USER_MARK = "❯"


def banner(console: Console, info: dict[str, Any], title: str | None, resumed: bool) -> None:
    model = info.get("model") or "?"
    which = "resumed" if resumed else "new session"
    name = f"“{title}”" if title else (info.get("session_key") or "") if resumed else ""
    line = Text.assemble(
        ("Hermes Station", "bold"), " · ", (model, "cyan"), f" · {which} ", (name, "bold")
    )
    console.print(line)
    console.print(Text("/help for commands · Ctrl+D to quit", style="dim"))


def notice(console: Console, text: str) -> None:
    console.print(Text(text, style="dim"))


def warn(console: Console, text: str) -> None:
    console.print(Text(text, style="yellow"))


def error(console: Console, text: str) -> None:
    console.print(Text(text, style="bold red"))


def when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp)) if stamp else "-"


def sessions_table(console: Console, rows: list[dict[str, Any]], current: str | None) -> None:
    if not rows:
        notice(console, "No sessions yet.")
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("ID", no_wrap=True)
    table.add_column("TITLE", overflow="ellipsis", no_wrap=True, ratio=1)
    table.add_column("SOURCE", no_wrap=True)
    table.add_column("MSGS", justify="right")
    table.add_column("LAST ACTIVE", no_wrap=True)
    for row in rows:
        here = row["id"] == current
        title = row.get("title") or row.get("preview") or ""
        table.add_row(
            Text(row["id"], style="bold" if here else ""),
            Text(title + (" (this session)" if here else "")),
            row.get("source") or "-",
            str(row.get("message_count") or 0),
            when(row.get("last_active")),
        )
    console.print(table)


def usage(console: Console, data: dict[str, Any]) -> None:
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="dim")
    table.add_column()
    table.add_row("model", data.get("model") or "?")
    table.add_row(
        "tokens",
        f"{data.get('input', 0):,} in · {data.get('output', 0):,} out · "
        f"{data.get('total', 0):,} total",
    )
    table.add_row("calls", str(data.get("calls", 0)))
    table.add_row("cost", f"${data.get('cost_usd', 0.0):.4f}")
    context = f"{data.get('context_used', 0):,}"
    if data.get("context_max"):
        context += f" of {data['context_max']:,} ({data.get('context_percent', 0.0)}%)"
    table.add_row("context", context)
    table.add_row("compressions", str(data.get("compressions", 0)))
    console.print(table)


def commands_help(console: Console, entries: list[tuple[str, str]]) -> None:
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for usage_text, description in entries:
        table.add_row(Text(usage_text), Text(description))
    console.print(table)
    notice(console, "Ctrl+C stops a running answer; Ctrl+D or /quit leaves.")


def settings(console: Console, values: dict[str, Any]) -> None:
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="dim", no_wrap=True)
    table.add_column()
    for key, value in sorted(values.items()):
        table.add_row(key, escape(str(value)))
    console.print(table)


INTERRUPTED = "⚠ interrupted: no answer was finished for this message"


def transcript(console: Console, messages: list[dict[str, Any]]) -> None:
    """Past user and assistant messages (tool traffic left out), as the answer was shown. A
    message whose turn ended without an answer (a stop, a crash) is marked, so a recap never
    reads as if it had been answered."""
    unanswered = False
    for message in messages:
        text = _text(message.get("content"))
        if message.get("role") == "user" and text:
            if unanswered:
                _interrupted(console)
            console.print(Text.assemble((f"{USER_MARK} ", "bold green"), text))
            unanswered = True
        elif message.get("role") == "assistant" and text.strip():
            console.print(Trimmed(text))
            console.print()
            unanswered = False
    if unanswered:
        _interrupted(console)


def _interrupted(console: Console) -> None:
    console.print(Text(INTERRUPTED, style="yellow"))
    console.print()


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""
