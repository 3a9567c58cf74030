"""Slash commands: `/name argument` lines typed at the prompt.

`parse` tells a command from a message (a line like `/usr/bin is where?` is a message: a
command's name is letters only); `dispatch` runs one. Each handler takes the app (see
app.TuiApp: `call`, `send`, `new_session`, `resume`, `console`, `sid`) and the argument.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hermes_agent.tools.skill_tools import invokes_skill
from hermes_cli.tui import render
from hermes_cli.tui.client import RpcError

MAX_ATTACHED = 10  # the gateway takes as many files with one message

NAME = re.compile(r"^/[A-Za-z][A-Za-z-]*$")
NOTHING_TO_DO = 4008
SESSIONS_SHOWN = 20
COMPRESSING = "Compressing the conversation…"


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    description: str
    handler: Callable[[Any, str], None]
    needs_arg: bool = False


COMMANDS: dict[str, Command] = {}


def command(name: str, description: str, *, arg: str = "", needs_arg: bool = False) -> Callable:
    def register(handler: Callable[[Any, str], None]) -> Callable[[Any, str], None]:
        usage = f"{name} {arg}".strip()
        COMMANDS[name] = Command(name, usage, description, handler, needs_arg)
        return handler

    return register


def parse(line: str) -> tuple[str, str] | None:
    """(name, argument) of a command line, lower-cased name; None for a message."""
    text = line.strip()
    name, _, arg = text.partition(" ")
    if not NAME.match(name):
        return None
    return name.lower(), arg.strip()


def suggest(name: str) -> str | None:
    close = difflib.get_close_matches(name, list(COMMANDS), n=1, cutoff=0.6)
    return close[0] if close else None


def unknown_message(name: str) -> str:
    guess = suggest(name)
    hint = f" Did you mean {guess}?" if guess else ""
    return f"Unknown command {name}.{hint} /help lists the commands."


def dispatch(app: Any, line: str) -> bool:
    """Run the command on `line`; False when the line is a message to send."""
    parsed = parse(line)
    if parsed is None:
        return False
    name, arg = parsed
    found = COMMANDS.get(name)
    if found is None and invokes_skill(line):
        return False  # `/<skill> [request]` is a message: the agent gets the skill with it
    if found is None:
        render.warn(app.console, unknown_message(name))
    elif found.needs_arg and not arg:
        render.warn(app.console, f"Usage: {found.usage}")
    else:
        found.handler(app, arg)
    return True


def help_entries(catalog: dict[str, str]) -> list[tuple[str, str]]:
    """Usage and description of every command, the gateway's description when it has one."""
    return [(c.usage, catalog.get(c.name) or c.description) for c in COMMANDS.values()]


# -- the commands -------------------------------------------------------------------------------


@command("/help", "Show the commands")
def show_help(app: Any, _arg: str) -> None:
    try:
        listed = app.call("commands.catalog")["commands"]
    except RpcError:
        listed = []
    render.commands_help(app.console, help_entries({c["name"]: c["description"] for c in listed}))


@command("/new", "Start a new conversation")
def new(app: Any, _arg: str) -> None:
    app.new_session()


@command("/sessions", "List recent sessions of every surface")
def sessions(app: Any, _arg: str) -> None:
    rows = app.call("session.list", {"limit": SESSIONS_SHOWN})["sessions"]
    render.sessions_table(app.console, rows, app.key)


@command("/resume", "Continue a session by id, id prefix or title", arg="[id|title]")
def resume(app: Any, arg: str) -> None:
    """Without an argument, the recent sessions to choose from, as in the chat apps."""
    if arg:
        app.resume(arg)
        return
    sessions(app, "")
    render.notice(app.console, "Continue one with /resume <id|title>.")


@command("/title", "Show or set this session's title", arg="[text]")
def title(app: Any, arg: str) -> None:
    params = {"session_id": app.sid, **({"title": arg} if arg else {})}
    result = app.call("session.title", params)
    if not arg:
        render.notice(app.console, f"Title: {result.get('title') or '(none yet)'}")
        return
    app.title = result["title"]
    later = " (set with the first message)" if result.get("pending") else ""
    render.notice(app.console, f"Title set: {result['title']}{later}")


@command("/attach", "Send a file with your next message; alone, list them", arg="[path|clear]")
def attach(app: Any, arg: str) -> None:
    if arg == "clear":
        app.attachments.clear()
        render.notice(app.console, "No files attached.")
        return
    if not arg:
        names = ", ".join(Path(p).name for p in app.attachments) or "none"
        render.notice(app.console, f"Files for your next message: {names}")
        return
    path = Path(arg).expanduser().resolve()
    if not path.is_file():
        render.error(app.console, f"No such file: {arg}")
    elif len(app.attachments) >= MAX_ATTACHED:
        render.error(app.console, f"At most {MAX_ATTACHED} files a message.")
    else:
        app.attachments.append(str(path))
        size = f"{path.stat().st_size:,} bytes"
        render.notice(app.console, f"Attached {path.name} ({size}): sent with your next message.")


@command("/memory", "Show what the agent remembers (hermes memory edit changes it)")
def memory(app: Any, _arg: str) -> None:
    from hermes_agent.tools.memory_tool import memory_store

    store = memory_store()
    app.console.print("\n\n".join(store.state(t) for t in ("memory", "user")), markup=False)


@command("/tools", "List the agent's tools and MCP servers")
def tools(app: Any, _arg: str) -> None:
    text = app.call("tools.list", {})["text"]
    app.console.print(text.replace("**", ""), markup=False)


@command(
    "/cron",
    "Scheduled jobs: /cron add SCHEDULE | PROMPT, /cron pause|resume|remove|run ID",
    arg="[ACTION [ID]]",
)
def cron(app: Any, arg: str) -> None:
    from hermes_agent.errors import BadRequest
    from hermes_cron.manage import parse

    try:
        request = parse(arg)
    except BadRequest as exc:
        render.warn(app.console, str(exc))
        return
    params = {k: v for k, v in vars(request).items() if v is not None}
    status = "Running the job…" if request.action == "run" else None
    text = app.call("cron.manage", params, status)["text"]
    app.console.print(text.replace("**", ""), markup=False)


@command("/undo", "Remove the last message and its answer")
def undo(app: Any, _arg: str) -> None:
    removed = _undo(app, "Nothing to undo.")
    if removed is not None:
        render.notice(app.console, f"Removed {removed['removed']} messages: “{removed['text']}”")


@command("/retry", "Send the last message again, in place of its answer")
def retry(app: Any, _arg: str) -> None:
    removed = _undo(app, "Nothing to retry.")
    if removed is not None and removed.get("text"):
        render.notice(app.console, f"Retrying: {removed['text']}")
        app.send(removed["text"])


def _undo(app: Any, nothing: str) -> dict[str, Any] | None:
    try:
        return app.call("session.undo", {"session_id": app.sid})
    except RpcError as exc:
        if exc.code != NOTHING_TO_DO:
            raise
        render.notice(app.console, nothing)
        return None


@command("/branch", "Go on in a copy of this conversation; the original stays as it is")
def branch(app: Any, _arg: str) -> None:
    try:
        app.branch()
    except RpcError as exc:
        if exc.code != NOTHING_TO_DO:
            raise
        render.notice(app.console, "Nothing to branch yet: send a message first.")


@command("/compress", "Summarise the conversation so far to free context")
def compress(app: Any, _arg: str) -> None:
    try:
        result = app.call("session.compress", {"session_id": app.sid}, status=COMPRESSING)
    except RpcError as exc:
        if exc.code != NOTHING_TO_DO:
            raise
        render.notice(app.console, "The conversation is too short to compress.")
        return
    if result["status"] != "compressed":
        render.warn(app.console, "Compression interrupted; nothing changed.")
        return
    app.key = result.get("session_key") or app.key
    render.notice(
        app.console,
        f"Compressed {result['before_messages']} messages to {result['after_messages']}; "
        f"continuing as session {app.key}.",
    )


@command("/usage", "Tokens, cost and context used in this session")
def usage(app: Any, _arg: str) -> None:
    render.usage(app.console, app.call("session.usage", {"session_id": app.sid}))


@command("/model", "Show the model, or switch this session (and new ones) to another", arg="[name]")
def model(app: Any, arg: str) -> None:
    if arg:
        set_model(app, arg)
        return
    default = app.call("config.get", {"key": "model"})["value"]
    render.notice(app.console, f"Model: {app.model} (new sessions: {default})")


def set_model(app: Any, name: str) -> None:
    app.call("config.set", {"key": "model", "value": name, "session_id": app.sid})
    app.call("config.set", {"key": "model", "value": name})
    app.model = name
    render.notice(app.console, f"Model set to {name}.")


@command("/history", "Show the whole conversation")
def history(app: Any, _arg: str) -> None:
    shown = app.call("session.history", {"session_id": app.sid})["messages"]
    if not shown:
        render.notice(app.console, "No messages yet.")
    render.transcript(app.console, shown)


@command("/config", "Show the settings")
def config(app: Any, _arg: str) -> None:
    render.settings(app.console, app.call("config.get")["settings"])


@command("/delete", "Delete a stored session (not the open one)", arg="<id>", needs_arg=True)
def delete(app: Any, arg: str) -> None:
    deleted = app.call("session.delete", {"session_id": arg})["deleted"]
    render.notice(app.console, f"Deleted session {deleted}.")


@command("/quit", "Close this session and leave")
def quit_(app: Any, _arg: str) -> None:
    app.quit()
