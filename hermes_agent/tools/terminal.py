"""Shell commands in the workspace, with a timeout, capped output and the approval policy.

A command the policy allows outright runs exactly as the policy checked it, without a shell.
Any other command goes to the user through the approval callback, and runs through
`/bin/sh -c` once approved; with no callback (a non-interactive surface) it is refused. Only
the user's answer can approve it: nothing the model sends reaches the policy. Either way the
child's environment has no secret-looking variables.
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
from hermes_agent.tools.approval import NOT_ALLOWLISTED, Invocation
from hermes_agent.tools.registry import Tool, ToolContext

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
    return _run(_authorise(command, ctx), ctx, timeout)


def _timeout(value: object, limit: float) -> float:
    """The model may ask for less time than the settings allow, never more (nor NaN)."""
    if value is None:
        return limit
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ToolError("timeout must be a number of seconds")
    if value <= 0:
        raise ToolError("timeout must be positive")
    return min(float(value), limit)


def _authorise(command: str, ctx: ToolContext) -> Invocation:
    """What to run for `command`: the policy's own invocation when it allows the command
    outright, else the shell, once the user (or a session approval) allows it."""
    env = _child_environment()
    decision = ctx.approval.review(command, ctx.workspace, ctx.protected_paths, environ=env)
    if decision.invocation is not None:
        return decision.invocation
    shell = Invocation("/bin/sh", ("/bin/sh", "-c", command), env, ctx.workspace)
    if decision.verdict == "run" or command in ctx.session_approved:
        return shell
    if decision.verdict == "deny":
        if decision.reason == NOT_ALLOWLISTED:
            raise ToolError("this command is not on the allowlist, and approvals are off")
        raise ToolError(
            f"the allowlist does not cover this command ({decision.reason}), and approvals are off"
        )
    ctx.require_approval(command, decision.reason, subject="this command")
    return shell


def _child_environment() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not any(marker in k.upper() for marker in SECRET_ENV_MARKERS)
    }


def _run(invocation: Invocation, ctx: ToolContext, timeout: float) -> str:
    """Run in its own process group; output goes to a spool file, so a chatty command never
    stalls on a full pipe. When the command ends, whatever it left in the background is
    stopped too: the agent must not leave processes behind."""
    with tempfile.TemporaryFile() as spool:
        proc = subprocess.Popen(
            list(invocation.argv),
            executable=invocation.executable,
            cwd=invocation.cwd,
            env=dict(invocation.env),
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


# The `hermes_station.tools` entry point `terminal` (see pyproject.toml).
TERMINAL = Tool(
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
