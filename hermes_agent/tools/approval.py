"""When the terminal tool may run a command without asking the user, and what it then runs.

Modes: `ask` runs allowlisted commands and asks the user about the rest; `allowlist` runs
allowlisted commands and refuses the rest; `off` runs everything. A command runs unasked only
when it is one plain command (no pipes, redirections, substitutions, chains — see
`shell_words`), its leading words, written plainly, match an allowlist entry, and its
arguments pass the checks of `safe_commands` (or `safe_git`): nothing it may touch lies outside
the workspace or in a protected directory, and no option of it runs other code. Such a command
is then run without a shell, exactly as checked: the decision carries the program, arguments
and environment, so nothing is parsed twice. A command the user approves runs through
`/bin/sh -c` as written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hermes_agent.tools import safe_commands, safe_git
from hermes_agent.tools.command_scope import Invocation, Scope, Unsafe
from hermes_agent.tools.shell_words import Word, split_plain

Verdict = Literal["run", "ask", "deny"]
NOT_ALLOWLISTED = "not on the allowlist"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str = ""  # why the user must be asked (or why the command is refused)
    invocation: Invocation | None = None  # set when allowed unasked: run this, not a shell


@dataclass(frozen=True)
class ApprovalPolicy:
    mode: Literal["ask", "allowlist", "off"] = "ask"
    allowlist: tuple[str, ...] = ()

    def review(
        self,
        command: str,
        workspace: Path,
        protected: Iterable[Path] = (),
        *,
        environ: Mapping[str, str],
    ) -> Decision:
        """The decision for `command` run in `workspace` with environment `environ`."""
        if self.mode == "off":
            return Decision("run")
        refusal: Verdict = "ask" if self.mode == "ask" else "deny"
        matched = self._match(command)
        if matched is None:
            return Decision(refusal, NOT_ALLOWLISTED)
        words, entry = matched
        try:
            invocation = _plan(words, entry, Scope.of(workspace, protected), environ)
        except Unsafe as exc:
            return Decision(refusal, str(exc))
        return Decision("run", invocation=invocation)

    def decide(self, command: str, workspace: Path | None = None) -> Verdict:
        """The verdict alone, for `command` run in `workspace` (by default the current
        directory); the terminal uses `review`, whose invocation is what runs."""
        return self.review(command, workspace or Path.cwd(), environ=os.environ).verdict

    def is_allowlisted(self, command: str) -> bool:
        """Whether `command` is one plain command naming an allowlist entry; `review` also
        checks its arguments."""
        return self._match(command) is not None

    def _match(self, command: str) -> tuple[list[Word], tuple[str, ...]] | None:
        """The words of `command` and the longest allowlist entry they start with."""
        try:
            words = split_plain(command)
        except ValueError:
            return None
        entries = [tuple(entry.split()) for entry in self.allowlist]
        matching = [prefix for prefix in entries if prefix and _starts_with(words, prefix)]
        return (words, max(matching, key=len)) if matching else None


def _starts_with(words: list[Word], prefix: tuple[str, ...]) -> bool:
    """Whether `words` begin with `prefix`, written plainly (no quotes, globs or ~)."""
    head = words[: len(prefix)]
    return len(head) == len(prefix) and all(
        w.literal and w.text == name for w, name in zip(head, prefix, strict=True)
    )


def _plan(
    words: list[Word], entry: tuple[str, ...], scope: Scope, environ: Mapping[str, str]
) -> Invocation:
    argv = [w.text for w in words[: len(entry)]]
    try:
        scope.check(".")
        for word in words[len(entry) :]:
            if word.tilde:
                raise Unsafe(f"only a shell would expand the leading ~ of {word.text}")
            argv.extend(scope.expand(word))
    except Unsafe as exc:
        raise Unsafe(f"{argv[0]}: {exc}") from None
    env = dict(environ)
    if argv[0] == "git":
        return safe_git.plan(argv, entry, scope, env)
    return safe_commands.plan(argv, scope, env)
