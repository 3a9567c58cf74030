"""Commands waiting for the user's approval: `approval.request` out, `approval.respond` in.

The agent's turn thread blocks in `ask` until the client answers, the turn is interrupted or
the session closed (both deny), or the wait times out (a denial too). The waiting itself is
`hermes_agent.approval_queue.Approvals`, the same for every surface.
"""

from __future__ import annotations

from typing import Literal

from hermes_agent.approval_queue import Approvals
from tui_gateway import server
from tui_gateway.params import SessionParams
from tui_gateway.registry import method

PENDING = Approvals()


def ask(sid: str, command: str, reason: str) -> str:
    """The user's choice for `command`: "once", "session", "always" or "deny"."""
    item = PENDING.open(sid, command, reason)
    server._emit("approval.request", sid, item.public())
    return PENDING.wait(item)


def deny_all(sid: str) -> None:
    PENDING.deny_all(sid)


class RespondParams(SessionParams):
    choice: Literal["once", "session", "always", "deny"]
    approval_id: str | None = None


@method("approval.respond", RespondParams)
def respond(p: RespondParams) -> dict:
    """Answer the given (or the oldest) waiting approval; `resolved` is false when none was."""
    server._session(p.session_id)
    return {"resolved": PENDING.respond(p.session_id, p.choice, p.approval_id)}
