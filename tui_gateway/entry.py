"""The stdio loop: one request per stdin line, replies and events on stdout.

stdout carries protocol frames only: it is taken for the writer at start-up and `sys.stdout`
becomes stderr, so a stray print anywhere cannot corrupt the stream. Methods marked slow run
on threads of their own and write their replies themselves, so `session.interrupt` is read
while a compression waits on the model. Turns always run on their own threads.

The loop ends at end of input, when the client is gone (a write fails), or on SIGTERM/SIGINT;
every open session is then ended in the store.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from typing import Any

from hermes_agent import __version__
from tui_gateway import registry, rpc, server

PROTOCOL_VERSION = 1
# Loaded in the background after `gateway.ready` (with the provider), so that the first
# `session.create` finds them loaded.
WARM_MODULES = ("hermes_agent.agent", "hermes_state", "hermes_agent.runtime")


def main() -> int:
    real_stdout = sys.stdout.buffer
    sys.stdout = sys.stderr
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    server._writer.stream = real_stdout
    signal.signal(signal.SIGTERM, _exit_on_signal)
    ready = {"version": __version__, "protocol": PROTOCOL_VERSION, "pid": os.getpid()}
    server._emit("gateway.ready", None, ready)
    threading.Thread(target=_warm_up, name="warm-up", daemon=True).start()
    try:
        for line in sys.stdin.buffer:
            if line.strip() and not _dispatch(line):
                break
    except KeyboardInterrupt:
        return 130
    finally:
        server._shutdown_sessions()
    return 0


def _warm_up() -> None:
    from tui_gateway import agents

    registry.preload(WARM_MODULES)
    agents.warm_up()


def _exit_on_signal(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def _dispatch(line: bytes) -> bool:
    """Handle one line; False once the client is gone."""
    try:
        req = rpc.parse_line(line)
    except rpc.RpcError as exc:
        return server.write_json(rpc.error(None, exc.code, exc.message))
    name = req.get("method") if isinstance(req, dict) else None
    method = registry.lookup(name) if isinstance(name, str) else None
    if method is not None and method.slow:
        server._start_thread(lambda: _answer(req), f"rpc-{name}")
        return True
    return _answer(req)


def _answer(req: Any) -> bool:
    reply = server.handle_request(req)
    return reply is None or server.write_json(reply)
