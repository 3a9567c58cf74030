"""Markdown answers rendered to ANSI text with rich, for clients that print them as they are.

`render_message` renders a whole answer (sent with `message.complete`). While an answer
streams, `make_stream_renderer` renders it line by line: each `message.delta` that completes
lines carries their rendering, and a fenced code block is held back until it closes, so it is
highlighted as one block. Deltas that complete no line cost nothing but a string append.

rich is imported on first use, not at start-up.
"""

from __future__ import annotations

import re
from typing import Any

MIN_COLS = 20
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^\s{0,3}#{1,6}\s")


def _console(cols: int) -> Any:
    from rich.console import Console

    return Console(
        width=max(cols, MIN_COLS),
        force_terminal=True,
        color_system="256",
        highlight=False,
        emoji=False,
    )


def _render(console: Any, text: str) -> str:
    from rich.markdown import Markdown

    with console.capture() as captured:
        console.print(Markdown(text))
    return captured.get()


def render_message(raw: str, cols: int = 80) -> str:
    """A whole Markdown answer as ANSI text `cols` wide."""
    return _render(_console(cols), raw)


class StreamRenderer:
    """Renders a streamed answer block by block, as each block's last line arrives.

    A block ends at a blank line, before a heading or a code fence, and with the fence that
    closes a code block. The text of an unfinished block waits for the next delta (and, at
    the end of the answer, for `render_message` of the whole).
    """

    def __init__(self, cols: int) -> None:
        self.cols = cols
        self._console: Any = None
        self._partial = ""  # the line being streamed
        self._block: list[str] = []
        self._in_fence = False
        self._out: list[str] = []

    def feed(self, delta: str) -> str | None:
        """The rendering of the blocks this delta completes, or None when it completes none."""
        if "\n" not in delta:
            self._partial += delta
            return None
        *lines, self._partial = (self._partial + delta).split("\n")
        for line in lines:
            self._line(line)
        out, self._out = "".join(self._out), []
        return out or None

    def _line(self, line: str) -> None:
        fence = FENCE.match(line) is not None
        if self._in_fence:
            self._block.append(line)
            if fence:
                self._in_fence = False
                self._flush()
        elif fence or HEADING.match(line):
            self._flush()
            self._block.append(line)
            self._in_fence = fence
            if not fence:
                self._flush()
        elif not line.strip():
            self._flush()
            self._out.append("\n")
        else:
            self._block.append(line)

    def _flush(self) -> None:
        if not self._block:
            return
        if self._console is None:
            self._console = _console(self.cols)
        self._out.append(_render(self._console, "\n".join(self._block)).lstrip("\n"))
        self._block = []


def make_stream_renderer(cols: int = 80) -> StreamRenderer:
    return StreamRenderer(cols)
