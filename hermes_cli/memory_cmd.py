"""`hermes memory show|edit|clear`: the agent's memory, as the user sees and changes it."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import tempfile
from pathlib import Path

from hermes_agent.errors import BadRequest

TARGET_HELP = "memory (the agent's notes) or user (what it knows of you); default both"


def add_parser(commands: argparse._SubParsersAction) -> None:
    memory = commands.add_parser(
        "memory",
        help="show, edit or clear what the agent remembers",
        description="The agent's memory: $HERMES_HOME/memories/MEMORY.md and USER.md, shown "
        "in the system prompt of every new conversation.",
    )
    actions = memory.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="print both files and how full they are")
    show.add_argument("target", nargs="?", choices=["memory", "user"], help=TARGET_HELP)
    show.set_defaults(run=_show)
    edit = actions.add_parser("edit", help="edit one in $EDITOR (entries separated by §)")
    edit.add_argument("target", choices=["memory", "user"])
    edit.set_defaults(run=_edit)
    clear = actions.add_parser("clear", help="forget everything in one file, or both")
    clear.add_argument("target", nargs="?", choices=["memory", "user"], help=TARGET_HELP)
    clear.set_defaults(run=_clear)


def _targets(target: str | None) -> list[str]:
    return [target] if target else ["memory", "user"]


def _show(args: argparse.Namespace) -> int:
    from hermes_agent.tools.memory_tool import memory_store

    store = memory_store()
    print("\n\n".join(store.state(t) for t in _targets(args.target)))
    return 0


def _edit(args: argparse.Namespace) -> int:
    from hermes_agent.memory import SEPARATOR
    from hermes_agent.tools.memory_tool import memory_store

    store = memory_store()
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.TemporaryDirectory() as scratch:
        draft = Path(scratch) / f"{args.target}.md"
        draft.write_text(SEPARATOR.join(store.entries(args.target)) + "\n", encoding="utf-8")
        if subprocess.call([*shlex.split(editor), str(draft)]) != 0:
            raise BadRequest(f"{editor} exited with an error; nothing was changed")
        store.write_whole(args.target, draft.read_text(encoding="utf-8"))
    print(store.state(args.target))
    return 0


def _clear(args: argparse.Namespace) -> int:
    from hermes_agent.tools.memory_tool import memory_store

    store = memory_store()
    for target in _targets(args.target):
        store.write_whole(target, "")
        print(f"Cleared {target}.")
    return 0
