"""Reading a command's options the way GNU getopt_long (and git's parse-options) read them.

A table lists every option a command may take, by kind; anything else — including the
abbreviations getopt_long would accept (`--fil` for `--file`) — is refused, so the tables are
whitelists. Short options may be clustered (`-la`); a short option with a value takes the rest
of its cluster or the next word; `--opt=value` and `--opt value` both work for options whose
value is required, only `--opt=value` for options whose value is optional; `--` ends options,
and options may come after operands, as getopt_long permutes them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from hermes_agent.tools.command_scope import Unsafe


def names(spec: str) -> frozenset[str]:
    """Option names from a space-separated list: `names("-a --all -l")`."""
    return frozenset(spec.split())


@dataclass(frozen=True)
class OptionTable:
    flags: frozenset[str] = frozenset()  # take no value
    values: frozenset[str] = frozenset()  # take a value: attached or the next word
    optional: frozenset[str] = frozenset()  # take a value only when attached (`--color=auto`)
    paths: frozenset[str] = frozenset()  # take a value that names a file, which is checked
    numeric: bool = False  # `-5` is a count, as in `head -5`


@dataclass(frozen=True)
class Parsed:
    options: tuple[tuple[str, str | None], ...] = ()
    operands: tuple[str, ...] = ()
    given: frozenset[str] = field(default_factory=frozenset)

    def values_of(self, *names: str) -> list[str]:
        return [value for name, value in self.options if name in names and value is not None]


def parse(table: OptionTable, args: list[str]) -> Parsed:
    options: list[tuple[str, str | None]] = []
    operands: list[str] = []
    words = deque(args)
    while words:
        arg = words.popleft()
        if arg == "--":
            operands.extend(words)
            break
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            _take(table, name, value if eq else None, words, options)
        elif arg.startswith("-") and arg != "-":
            _cluster(table, arg, words, options)
        else:
            operands.append(arg)
    return Parsed(tuple(options), tuple(operands), frozenset(name for name, _ in options))


def _cluster(
    table: OptionTable, arg: str, words: deque[str], options: list[tuple[str, str | None]]
) -> None:
    if table.numeric and arg[1:].isdigit():
        options.append(("-NUM", arg[1:]))
        return
    for j in range(1, len(arg)):
        name = "-" + arg[j]
        if name in table.flags:
            options.append((name, None))
            continue
        rest = arg[j + 1 :]
        _take(table, name, rest if rest else None, words, options)
        return


def _take(
    table: OptionTable,
    name: str,
    value: str | None,
    words: deque[str],
    options: list[tuple[str, str | None]],
) -> None:
    """Record option `name` with its value: attached, else (when required) the next word."""
    if name in table.flags:
        if value is not None:
            raise Unsafe(f"{name} takes no value")
    elif name in table.values or name in table.paths:
        if value is None:
            if not words:
                raise Unsafe(f"{name} needs a value")
            value = words.popleft()
    elif name not in table.optional:
        raise Unsafe(f"{name} is not an option known to be safe")
    options.append((name, value))
