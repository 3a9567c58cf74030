"""Plumbing for the gateway tests: `hermes gateway` in a subprocess, pointed at the fake
Telegram Bot API and the scripted provider, with every path under one temp directory.

(No tests here; the gateway test modules import it.)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from hermes_state import SessionDB
from tests.support import REPO_ROOT, SECRET_ENV_PREFIXES, fake_provider_env, request

TIMEOUT = 15.0


class GatewayProcess:
    """`python -m hermes_cli gateway` with HERMES_HOME at `root/home`; restartable."""

    def __init__(self, root: Path, llm: Any, tg: Any = None, **settings: str) -> None:
        self.root = root
        self.home = root / "home"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(SECRET_ENV_PREFIXES)}
        self.env.update(fake_provider_env(llm), HERMES_HOME=str(self.home))
        self.env.update(PYTHONPATH=str(REPO_ROOT), HERMES_GATEWAY_SHUTDOWN_TIMEOUT="30")
        self.env.update(HOME=str(root / "user-home"))
        if tg is not None:
            self.env.update(
                HERMES_GATEWAY_PLATFORMS="telegram",
                HERMES_TELEGRAM_TOKEN=tg.token,
                HERMES_TELEGRAM_BASE_URL=tg.base_url,
                HERMES_TELEGRAM_POLL_TIMEOUT="2",
            )
        self.env.update(settings)
        self.tg = tg
        self.proc: subprocess.Popen | None = None
        self.log_path = root / "gateway.log"

    @property
    def workspace(self) -> Path:
        return self.root / "user-home" / "HermesWorkspace"

    def run_to_exit(self, timeout: float = 30) -> subprocess.CompletedProcess:
        """Run `hermes gateway` with these settings as a second process, expecting it to end
        by itself (a refusal at start); its exit code and output."""
        return subprocess.run(
            [sys.executable, "-m", "hermes_cli", "gateway"],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self) -> GatewayProcess:
        self.root.mkdir(parents=True, exist_ok=True)
        polls = len(self.tg.calls("getUpdates")) if self.tg else 0
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hermes_cli", "gateway", "--log-level", "info"],
                cwd=self.root,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if self.tg is not None:
            self.wait(lambda: len(self.tg.calls("getUpdates")) > polls, "the first poll")
        return self

    def wait(self, condition: Any, what: str, timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"the gateway exited ({self.proc.returncode}):\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {timeout} s:\n{self.log()}")
            time.sleep(0.02)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except OSError:
            return ""

    def stop(self, timeout: float = 40) -> int:
        """SIGTERM and wait: the graceful shutdown."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            late = f"the gateway did not stop in {timeout} s:\n{self.log()}"
            raise AssertionError(late) from None

    def kill(self) -> None:
        """SIGKILL: no shutdown runs, as when the machine loses power."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def db(self) -> SessionDB:
        return SessionDB(self.home / "state.db")

    def hermes(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Another `hermes` command on the same home (e.g. `gateway pair`)."""
        return subprocess.run(
            [sys.executable, "-m", "hermes_cli", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )


def texts(tg: Any, chat_id: int) -> list[str]:
    return [m.text for m in tg.messages(chat_id)]


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """Computed here, independently of the gateway's code, from the documented format."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def post_hook(
    port: int,
    name: str,
    secret: str | None,
    payload: Any,
    *,
    timestamp: int | None = None,
    raw: bytes | None = None,
    timeout: float = TIMEOUT,
) -> Any:
    """POST to the webhook, signed with `secret` (unsigned when None)."""
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {}
    if secret is not None:
        stamp = int(time.time()) if timestamp is None else timestamp
        headers = {
            "X-Hermes-Timestamp": str(stamp),
            "X-Hermes-Signature": signature(secret, stamp, body),
        }
    return request(
        f"http://127.0.0.1:{port}", "POST", f"/hook/{name}", data=body, headers=headers,
        timeout=timeout,
    )  # fmt: skip
