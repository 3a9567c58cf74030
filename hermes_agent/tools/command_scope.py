"""What a command that runs without asking may reach, and exactly what it runs.

The scope is the workspace minus the protected directories (the Hermes home, with its keys).
Every path is resolved the way the kernel will resolve it — relative to the command's working
directory, symlinks followed — before it is checked, so `../`, absolute paths and links that
lead out are refused alike. Glob patterns are expanded here, as sh would expand them, so every
file a pattern names is checked before the command sees it. Programs are looked up on the
PATH, skipping relative entries and entries inside the workspace: the workspace is where the
model can write, so a program found there would be the model's own.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from hermes_agent.tools.shell_words import Word

MAX_GLOB_MATCHES = 1000


class Unsafe(Exception):
    """Why a command cannot run without asking; the approval policy turns it into a question."""


@dataclass(frozen=True)
class Invocation:
    """A command exactly as it will run: no shell, this program, these arguments."""

    executable: str
    argv: tuple[str, ...]
    env: Mapping[str, str]
    cwd: Path


@dataclass(frozen=True)
class Scope:
    workspace: Path
    cwd: Path
    protected: tuple[Path, ...]

    @classmethod
    def of(cls, workspace: Path, protected: Iterable[Path] = ()) -> Scope:
        root = Path(os.path.realpath(workspace))
        return cls(root, root, tuple(Path(os.path.realpath(p)) for p in protected))

    def check(self, path: str) -> Path:
        """The real path `path` names, if the command may touch it."""
        if path.startswith("~"):
            raise Unsafe(f"{path} starts with ~, which only a shell would make a home directory")
        real = Path(os.path.realpath(self.cwd / path))
        if not real.is_relative_to(self.workspace):
            raise Unsafe(f"{path} is outside the workspace")
        if any(real.is_relative_to(p) for p in self.protected):
            raise Unsafe(f"{path} is in a protected directory")
        return real

    def check_tree(self, path: str) -> Path:
        """As `check`, for a command that descends into `path`: nothing below it protected."""
        real = self.check(path)
        if any(p.is_relative_to(real) for p in self.protected):
            raise Unsafe(f"{path} contains a protected directory")
        return real

    def within(self, path: str) -> Scope:
        """The scope of a command that changes directory to `path` (`git -C path`)."""
        return Scope(self.workspace, self.check(path), self.protected)

    def expand(self, word: Word) -> list[str]:
        """The words sh would make of `word`: its glob matches, sorted, each checked; the
        word itself when it is no pattern or matches nothing."""
        if word.pattern is None:
            return [word.text]
        self.check(_fixed_directory(word.pattern))  # no walking a tree that is not ours
        found = list(islice(glob.iglob(word.pattern, root_dir=self.cwd), MAX_GLOB_MATCHES + 1))
        if len(found) > MAX_GLOB_MATCHES:
            raise Unsafe(f"{word.text} matches more than {MAX_GLOB_MATCHES} files")
        for match in found:
            self.check(match)
        return sorted(found) or [word.text]

    def executable(self, name: str, env: Mapping[str, str]) -> str:
        """The program `name` runs: a path as given, else the first match on the PATH outside
        the workspace."""
        if "/" in name:
            return str(self.cwd / name)
        for entry in env.get("PATH", os.defpath).split(os.pathsep):
            if not os.path.isabs(entry):
                continue
            if Path(os.path.realpath(entry)).is_relative_to(self.workspace):
                continue
            candidate = os.path.join(entry, name)
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
        raise Unsafe(f"{name} is not on the PATH outside the workspace")


def _fixed_directory(pattern: str) -> str:
    """The directory a glob pattern starts from: its components before the first one with a
    glob character (which are literal, so escaping does not matter)."""
    parts = pattern.split("/")
    fixed: list[str] = []
    for part in parts[:-1]:
        if any(ch in "*?[" for ch in part):
            break
        fixed.append(part)
    return "/".join(fixed) or ("/" if pattern.startswith("/") else ".")
