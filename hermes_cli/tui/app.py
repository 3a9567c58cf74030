"""`hermes tui`: the gateway subprocess, one live session at a time, and the input loop.

Ctrl+C is counted by a signal handler (a plain counter, so it never takes a lock that the
interrupted code may hold) and looked at by whatever waits on the gateway: the first press
interrupts the session's turn or compression, the second quits. At the prompt the terminal
is in raw mode and Ctrl+C is a key (see prompt.py).
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import sys
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from rich.console import Console

from hermes_agent.errors import BadRequest
from hermes_cli.tui import commands, render
from hermes_cli.tui.client import Event, GatewayClient, GatewayGone, RpcError
from hermes_cli.tui.prompt import PromptReader
from hermes_cli.tui.terminal import typing_held
from hermes_cli.tui.turn import INTERRUPTING, POLL, run_turn

RECAP_MESSAGES = 4
CLOSE_TIMEOUT = 5.0


class Quit(Exception):
    """Leave the loop: /quit, or Ctrl+C twice while waiting."""


class Interrupts:
    """Counts SIGINTs while installed."""

    def __init__(self) -> None:
        self.count = 0
        self._previous: Any = None

    def _handler(self, _signum: int, _frame: Any) -> None:
        self.count += 1

    def install(self) -> None:
        self._previous = signal.signal(signal.SIGINT, self._handler)

    def restore(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


class CtrlCWatch:
    """Ctrl+C presses during one wait: the first interrupts the session, the second quits."""

    def __init__(self, app: TuiApp) -> None:
        self.app = app
        self.start = app.interrupts.count
        self.handled = False

    def pressed(self) -> bool:
        """True once, at the first press; raises Quit at the second."""
        presses = self.app.interrupts.count - self.start
        if presses > 1:
            raise Quit
        if presses == 1 and not self.handled:
            self.handled = True
            if self.app.sid:
                self.app.client.request("session.interrupt", {"session_id": self.app.sid})
            return True
        return False


class TuiApp:
    def __init__(self, client: GatewayClient, console: Console, reader: PromptReader) -> None:
        self.client = client
        self.console = console
        self.reader = reader
        self.interrupts = Interrupts()
        self.sid: str | None = None  # the live session
        self.key: str | None = None  # its stored session
        self.model = ""
        self.attachments: list[str] = []  # files (absolute paths) for the next message
        self.title: str | None = None

    # -- talking to the gateway ----------------------------------------------------------------

    def call(
        self, method: str, params: dict[str, Any] | None = None, status: str | None = None
    ) -> dict[str, Any]:
        """One request's result, waiting with Ctrl+C watched (and a spinner with `status`)."""
        return self.wait(self.client.request(method, params), status)

    def wait(self, future: Future, status: str | None = None) -> dict[str, Any]:
        watch = self.watch_ctrl_c()
        spinner = self.console.status(status) if status else contextlib.nullcontext()
        with typing_held(), spinner:
            while True:
                try:
                    return future.result(POLL)
                except FutureTimeout:
                    pass
                if watch.pressed():
                    render.warn(self.console, INTERRUPTING)

    def watch_ctrl_c(self) -> CtrlCWatch:
        return CtrlCWatch(self)

    def absorb(self, event: Event) -> None:
        """Keep up with events outside a turn: the session's model, store id and title."""
        if event.session_id != self.sid or event.type != "session.info":
            return
        self.model = event.payload.get("model") or self.model
        self.key = event.payload.get("session_key") or self.key
        self.title = event.payload.get("title") or self.title

    def drain(self) -> None:
        while (event := self.client.next_event(0)) is not None:
            self.absorb(event)

    # -- sessions ------------------------------------------------------------------------------

    def open(self, resume: str | None, model: str | None) -> None:
        """The first session: a stored one resumed, or a new one (with `model`, if given)."""
        if not resume:
            self.new_session(model)
            return
        self.resume(resume)
        if model:
            commands.set_model(self, model)

    def new_session(self, model: str | None = None) -> None:
        params: dict[str, Any] = {"cols": _cols()}
        if model:
            params["model"] = model
        created = self.call("session.create", params)
        self._switch(created["session_id"], created["info"], None)
        render.banner(self.console, created["info"], None, resumed=False)

    def resume(self, target: str) -> None:
        if self.sid and target in (self.key, self.title):
            render.notice(self.console, "That is this session.")
            return
        resumed = self.call("session.resume", {"session_id": target, "cols": _cols()})
        self._switch(resumed["session_id"], resumed["info"], resumed.get("title"))
        render.banner(self.console, resumed["info"], self.title, resumed=True)
        self.console.print()
        messages = resumed.get("messages") or []
        if len(messages) > RECAP_MESSAGES:
            render.notice(self.console, f"… {len(messages) - RECAP_MESSAGES} earlier messages")
        render.transcript(self.console, messages[-RECAP_MESSAGES:])

    def branch(self) -> None:
        """Go on in a copy of this conversation; the original is closed as it is."""
        before = self.title or self.key
        branched = self.call("session.branch", {"session_id": self.sid})
        self._switch(branched["session_id"], branched["info"], branched.get("title"))
        copied = branched["message_count"]
        render.notice(
            self.console,
            f"Branched: {copied} messages copied into “{self.title or self.key}”. "
            f"“{before}” stays as it was (/resume it to go back).",
        )

    def _switch(self, sid: str, info: dict[str, Any], title: str | None) -> None:
        """Make `sid` the live session, closing the one before (it stays in the store)."""
        if self.sid:
            with contextlib.suppress(RpcError):
                self.call("session.close", {"session_id": self.sid})
        self.sid, self.key, self.title = sid, info.get("session_key"), title
        self.model = info.get("model") or ""

    def quit(self) -> None:
        raise Quit

    def send(self, text: str) -> dict[str, Any]:
        return run_turn(self, text)

    # -- the loop ------------------------------------------------------------------------------

    def loop(self) -> None:
        while True:
            self.drain()
            line = self.reader.read()
            if line is None:
                return
            if not line.strip():
                continue
            try:
                if not commands.dispatch(self, line):
                    self.send(line)
            except RpcError as exc:
                render.error(self.console, str(exc))

    def shutdown(self) -> None:
        """Close the session and wait for the gateway to exit (it is killed if it hangs)."""
        if self.sid and not self.client.gone:
            with contextlib.suppress(RpcError, GatewayGone, FutureTimeout):
                self.client.call("session.close", {"session_id": self.sid}, CLOSE_TIMEOUT)
        self.client.close(CLOSE_TIMEOUT)


def _cols() -> int:
    return max(20, min(1000, shutil.get_terminal_size().columns))


def log_path(home: Path) -> Path | None:
    """The gateway's log file, or None (discarded) when HERMES_HOME/logs cannot be made."""
    logs = home / "logs"
    try:
        logs.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return logs / "tui_gateway.log"


def main(resume: str | None = None, model: str | None = None) -> int:
    from hermes_agent.settings import hermes_home

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise BadRequest("hermes tui needs a terminal; use hermes chat in scripts")
    home = hermes_home()
    console = Console(highlight=False)
    client = GatewayClient(log_path=log_path(home)).start()
    app = TuiApp(client, console, PromptReader(home / "tui_history", console))
    app.interrupts.install()
    try:
        app.open(resume, model)
        app.loop()
    except Quit:
        pass
    except (GatewayGone, RpcError) as exc:
        render.error(console, f"hermes tui: {exc}")
        return 1
    finally:
        app.shutdown()
        app.interrupts.restore()
    return 0
