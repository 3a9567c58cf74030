"""`hermes state repair`: recover what SQLite can still read from a damaged state.db.

A long-running surface that finds state.db damaged moves it aside as
`state.db.damaged-<time>` and starts a new one, so the conversations recorded before are only
in the copy. Repair reads every readable row from the copy and adds it to the current
state.db, once per copy; the copy itself is left as it was.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from hermes_agent.errors import BadRequest, StoreError

if TYPE_CHECKING:
    from hermes_state.store import SessionDB


def add_parser(commands: argparse._SubParsersAction) -> None:
    state = commands.add_parser(
        "state",
        help="repair the conversation database",
        description="Maintenance of $HERMES_HOME/state.db, the record of every surface.",
    )
    actions = state.add_subparsers(dest="action", metavar="ACTION", required=True)
    repair = actions.add_parser(
        "repair",
        help="recover the readable rows of a damaged copy into state.db",
        description="Recover sessions and messages from a damaged copy (by default the newest "
        "state.db.damaged-* not yet recovered; a state.db that is damaged now is set aside "
        "first). Running it again on the same copy adds nothing.",
    )
    repair.add_argument("copy", nargs="?", type=Path, help="the damaged database file")
    repair.set_defaults(run=_repair)


def _repair(args: argparse.Namespace) -> int:
    from hermes_state.salvage import salvage

    store, set_aside = _open_current()
    copy = args.copy or set_aside or _newest_unrecovered(store)
    if not copy.is_file():
        raise BadRequest(f"no such file: {copy}")
    found = salvage(copy)
    if found.empty:
        print(f"Nothing could be read from {copy}: {found.error or 'it holds no sessions'}.")
        return 1
    done = store.restore_salvaged(found, copy.name)
    if done is None:
        print(f"{copy.name} was already recovered into state.db; nothing added.")
        return 0
    print(
        f"Recovered {done.sessions} conversation(s) and {done.messages} message(s) "
        f"from {copy} into state.db."
    )
    if done.jobs:
        print(f"Recovered {done.jobs} scheduled job(s).")
    for old, new in done.renamed.items():
        print(f"  {old} is stored as {new}: state.db already has a session by that id.")
    if found.unreadable_ranges:
        print(f"{found.unreadable_ranges} damaged range(s) of rows could not be read.")
    return 0


def _open_current() -> tuple[SessionDB, Path | None]:
    """The current state.db, setting it aside first when it is itself damaged."""
    from hermes_state.builtin import SQLITE

    try:
        return SQLITE.open(None), None
    except StoreError as exc:
        if not exc.damaged:
            raise
        aside = SQLITE.set_aside(None)
        print(f"state.db is damaged ({exc}); moved it to {aside} and started a new one.")
        return SQLITE.open(None), aside


def _newest_unrecovered(store: SessionDB) -> Path:
    from hermes_state.connection import default_db_path
    from hermes_state.salvage import damaged_copies, restored

    waiting = [c for c in damaged_copies(default_db_path()) if not restored(store, c)]
    if not waiting:
        raise BadRequest("no damaged copy of state.db is waiting to be recovered")
    return waiting[-1]
