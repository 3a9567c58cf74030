"""Shell commands in the workspace, with a timeout, capped output and the approval policy.

A command the policy does not allow outright goes to the user through the approval
callback; with no callback (a non-interactive surface) it is refused. Only the user's answer
can approve it: nothing the model sends reaches the policy.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import tempfile
import time
from typing import Any

from hermes_agent.errors import ToolError
from hermes_agent.tools.registry import Tool, ToolContext, register

MAX_OUTPUT_BYTES = 20_000
MAX_SPOOL_BYTES = 10 * 1024 * 1024
POLL_SECONDS = 0.05
SECRET_ENV_MARKERS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL")


def terminal(args: dict[str, Any], ctx: ToolContext) -> str:
    command = args.get("command")
    if not isinstance(command, str) or not command.strip():
        raise ToolError("command must be a non-empty string")
    if "\x00" in command:
        raise ToolError("command contains a NUL byte")
    timeout = _timeout(args.get("timeout"), ctx.terminal_timeout)
    _authorise(command, ctx)
    return _run(command, ctx, timeout)


def _timeout(value: object, limit: float) -> float:
    """The model may ask for less time than the settings allow, never more (nor NaN)."""
    if value is None:
        return limit
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ToolError("timeout must be a number of seconds")
    if value <= 0:
        raise ToolError("timeout must be positive")
    return min(float(value), limit)


def _authorise(command: str, ctx: ToolContext) -> None:
    decision = ctx.approval.decide(command)
    if decision == "run" or command in ctx.session_approved:
        return
    if decision == "deny":
        raise ToolError("this command is not on the allowlist, and approvals are off")
    if ctx.ask_approval is None:
        raise ToolError("this command needs the user's approval, and no one can be asked")
    choice = ctx.ask_approval(command, "not on the allowlist")
    if choice == "session":
        ctx.session_approved.add(command)
    elif choice not in ("once", "always"):
        raise ToolError("the user denied this command")


def _run(command: str, ctx: ToolContext, timeout: float) -> str:
    """Run in its own process group; output goes to a spool file, so a chatty command never
    stalls on a full pipe. When the shell ends, whatever it left in the background is
    stopped too: the agent must not leave processes behind."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not any(marker in k.upper() for marker in SECRET_ENV_MARKERS)
    }
    with tempfile.TemporaryFile() as spool:
        proc = subprocess.Popen(
            ["/bin/sh", "-c", command],
            cwd=ctx.workspace,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=spool,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        reason = _wait(proc, spool, ctx, timeout)
        _kill_group(proc.pid)
        proc.wait()
        spool.seek(0)
        output = spool.read(MAX_OUTPUT_BYTES + 1)
        total = os.fstat(spool.fileno()).st_size
    text = output[:MAX_OUTPUT_BYTES].decode("utf-8", errors="replace")
    if total > MAX_OUTPUT_BYTES:
        text += f"\n… [{total - MAX_OUTPUT_BYTES} more bytes not shown]"
    status = f"[command {reason}]" if reason else f"[exit code {proc.returncode}]"
    return f"{text}\n{status}" if text else status


def _wait(proc: subprocess.Popen, spool: Any, ctx: ToolContext, timeout: float) -> str | None:
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        if ctx.cancel.is_set():
            return "interrupted"
        if time.monotonic() > deadline:
            return f"timed out after {timeout:g} s"
        if os.fstat(spool.fileno()).st_size > MAX_SPOOL_BYTES:
            return "stopped: too much output"
        time.sleep(POLL_SECONDS)
    return None


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


register(
    Tool(
        "terminal",
        "Run a shell command in the workspace. Commands outside the allowlist wait for the "
        "user's approval.",
        {
            "type": "object",
            "properties": {
                "command": {"type": "string"},
                "timeout": {"type": "number", "description": "Seconds; capped by the settings."},
            },
            "required": ["command"],
        },
        terminal,
    )
)
