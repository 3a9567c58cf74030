"""When the terminal tool may run a command without asking the user.

Modes: `ask` runs allowlisted commands and asks the user about the rest; `allowlist` runs
allowlisted commands and refuses the rest; `off` runs everything. A command counts as
allowlisted only when it is one plain command (no pipes, redirections, substitutions or
chains) whose leading words match an allowlist entry, so `ls; rm -rf ~` is never "ls".
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Literal

Decision = Literal["run", "ask", "deny"]
SHELL_CONTROL = frozenset(";&|<>`$()\n\r{}")


@dataclass(frozen=True)
class ApprovalPolicy:
    mode: Literal["ask", "allowlist", "off"] = "ask"
    allowlist: tuple[str, ...] = ()

    def decide(self, command: str) -> Decision:
        if self.mode == "off" or self.is_allowlisted(command):
            return "run"
        return "ask" if self.mode == "ask" else "deny"

    def is_allowlisted(self, command: str) -> bool:
        if any(ch in SHELL_CONTROL for ch in command):
            return False
        try:
            words = shlex.split(command)
        except ValueError:
            return False
        if not words:
            return False
        for entry in self.allowlist:
            prefix = entry.split()
            if words[: len(prefix)] == prefix:
                return True
        return False
