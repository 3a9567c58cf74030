"""One turn: submit the message, then show the gateway's events until `message.complete`.

Ctrl+C while the turn runs sends `session.interrupt` (the gateway then ends the turn with
status `interrupted`); a second one quits. Approval requests stop the live output, ask for
one key, and answer with `approval.respond` before the turn goes on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text

from hermes_cli.tui import render
from hermes_cli.tui.stream import AnswerView
from hermes_cli.tui.terminal import typing_held

if TYPE_CHECKING:
    from hermes_cli.tui.app import CtrlCWatch, TuiApp
    from hermes_cli.tui.client import Event

POLL = 0.1
INTERRUPTING = "interrupting · Ctrl+C again to quit"


def run_turn(app: TuiApp, text: str) -> dict[str, Any]:
    """Send `text` and show the answer; the `message.complete` payload."""
    params: dict[str, Any] = {"session_id": app.sid, "text": text}
    if app.attachments:
        params["attachments"] = list(app.attachments)
    app.call("prompt.submit", params)
    app.attachments.clear()  # sent with this message
    view = AnswerView(app.console)
    watch = app.watch_ctrl_c()
    try:
        with typing_held():
            done = _follow(app, view, watch)
    finally:
        view.flush()  # what was streamed stays on the screen, even when leaving mid-turn
        view.close()
    if done.get("status") == "interrupted":
        render.warn(app.console, "interrupted")
    app.console.print()
    return done


def _follow(app: TuiApp, view: AnswerView, watch: CtrlCWatch) -> dict[str, Any]:
    """Show the session's events up to `message.complete`; its payload."""
    while True:
        if watch.pressed():
            view.set_status(INTERRUPTING)
        event = app.client.next_event(POLL)
        if event is None:
            continue
        if event.session_id != app.sid:
            app.absorb(event)
            continue
        done = _show(app, view, event)
        if done is not None:
            return done


def _show(app: TuiApp, view: AnswerView, event: Event) -> dict[str, Any] | None:
    """Show one event of the turn; the payload when it is the turn's end."""
    kind, payload = event.type, event.payload
    if kind == "message.delta":
        view.delta(payload.get("text") or "")
    elif kind == "reasoning.delta":
        view.reasoning_delta(payload.get("text") or "")
    elif kind == "tool.start":
        view.tool_start(payload.get("tool_id", ""), payload.get("name", "?"), _preview(payload))
    elif kind == "tool.complete":
        view.tool_complete(
            payload.get("tool_id", ""),
            payload.get("name", "?"),
            float(payload.get("duration_s") or 0.0),
            bool(payload.get("is_error")),
        )
    elif kind == "approval.request":
        view.close()
        _approve(app, payload)
    elif kind == "message.complete":
        view.finish(payload)
        return payload
    elif kind == "status.update" and payload.get("text"):
        view.note(Text(payload["text"], style="dim"))
    else:
        app.absorb(event)
    return None


def _preview(payload: dict[str, Any]) -> str:
    preview = payload.get("preview")
    return preview if isinstance(preview, str) else ""


def _approve(app: TuiApp, request: dict[str, Any]) -> None:
    console = app.console
    console.print(Text.assemble(("The agent wants to run: ", "bold yellow"), request["command"]))
    if request.get("reason"):
        render.notice(console, f"({request['reason']})")
    choice = app.reader.ask_approval()
    answered = app.call(
        "approval.respond",
        {
            "session_id": request.get("session_id") or app.sid,
            "choice": choice,
            "approval_id": request.get("approval_id"),
        },
    )
    said = "denied" if choice == "deny" else f"allowed ({choice})"
    render.notice(console, said if answered.get("resolved") else f"{said}, but it had expired")
