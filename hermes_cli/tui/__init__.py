"""`hermes tui`: an interactive terminal chat, a client of the `tui_gateway` JSON-RPC gateway.

client.py    the protocol client (the gateway subprocess, requests, events)
app.py       the session and the input loop, Ctrl+C handling, start and shutdown
turn.py      one turn's events: streamed answer, tools, approvals
stream.py    the streamed answer on the terminal (Markdown blocks, live region)
commands.py  slash commands
prompt.py    the input prompt and its history, the approval question
render.py    banner, tables, notices
"""

from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction) -> None:
    tui = commands.add_parser(
        "tui",
        help="chat with the agent in the terminal",
        description="An interactive chat in the terminal, with streamed Markdown answers, "
        "inline approvals and slash commands (/help). Sessions are recorded in state.db "
        "(source tui), so they can be continued from any surface.",
    )
    tui.add_argument(
        "--resume",
        "--session",
        dest="resume",
        metavar="ID|TITLE",
        help="continue a stored session (id, unique id prefix or title)",
    )
    tui.add_argument("--model", help="use this model instead of the configured one")
    tui.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hermes_cli.tui.app import main

    return main(resume=args.resume, model=args.model)
