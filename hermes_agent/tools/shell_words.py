"""The words of a plain command, split the way sh would split them, without running a shell.

A plain command is words, blanks, quotes and backslashes and nothing else: any character in
`SHELL_CONTROL` (pipes, chains, redirections, substitutions, braces, newlines) means it is not
one. Quote removal follows sh: single quotes keep everything, double quotes let a backslash
escape `"` and `\\`, a bare backslash escapes the next character, and `#` at the start of a
word begins a comment. Each word remembers which of its glob characters were unquoted, so a
caller can expand exactly the ones sh would and no others, and whether it starts with an
unquoted `~`, which only a shell would expand.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass

SHELL_CONTROL = frozenset(";&|<>`$()\n\r{}")
BLANKS = " \t"
GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class Word:
    text: str  # after quote removal
    pattern: str | None  # a glob pattern when the word has unquoted *?[, quoted ones escaped
    quoted: bool  # the word used quotes or backslashes
    tilde: bool  # the word starts with an unquoted ~

    @property
    def literal(self) -> bool:
        """Written exactly as its text: sh would neither unquote nor expand anything."""
        return not self.quoted and self.pattern is None and not self.tilde


def split_plain(command: str) -> list[Word]:
    """The words of `command`; ValueError when it is not a plain command."""
    if any(ch in SHELL_CONTROL for ch in command):
        raise ValueError("it uses shell syntax")
    if "\x00" in command:
        raise ValueError("it contains a NUL byte")
    words: list[Word] = []
    i = 0
    while i < len(command):
        ch = command[i]
        if ch in BLANKS:
            i += 1
        elif ch == "#":
            break
        else:
            word, i = _word(command, i)
            words.append(word)
    return words


def _word(command: str, i: int) -> tuple[Word, int]:
    tilde = command[i] == "~"
    text: list[str] = []
    pattern: list[str] = []
    quoted = globbed = False
    while i < len(command) and command[i] not in BLANKS:
        ch = command[i]
        if ch in "'\"\\":
            chunk, i = _quoted(command, i)
            quoted = True
            text.append(chunk)
            pattern.append(glob.escape(chunk))
            continue
        globbed = globbed or ch in GLOB_CHARS
        text.append(ch)
        pattern.append(ch)
        i += 1
    return Word("".join(text), "".join(pattern) if globbed else None, quoted, tilde), i


def _quoted(command: str, i: int) -> tuple[str, int]:
    """The literal text of the quoted part or escape at `i`, and where it ends."""
    ch = command[i]
    if ch == "\\":
        if i + 1 >= len(command):
            raise ValueError("the command ends with a backslash")
        return command[i + 1], i + 2
    if ch == "'":
        end = command.find("'", i + 1)
        if end < 0:
            raise ValueError("a quote is not closed")
        return command[i + 1 : end], end + 1
    chunk: list[str] = []
    i += 1
    while i < len(command) and command[i] != '"':
        if command[i] == "\\" and i + 1 < len(command) and command[i + 1] in '"\\':
            i += 1
        chunk.append(command[i])
        i += 1
    if i >= len(command):
        raise ValueError("a quote is not closed")
    return "".join(chunk), i + 1
