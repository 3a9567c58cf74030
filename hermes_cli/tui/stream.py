"""A streamed answer on the terminal: finished Markdown blocks are printed for good, the
block still being written is shown below them in a live region that is redrawn in place.

A block is finished at a blank line, after a heading, and with the fence that closes a code
block, so each piece of the scrollback is rendered once, from whole Markdown. The live region
shows only the last screenful of the unfinished block (a region taller than the screen could
not be redrawn), plus the reasoning and the running tool while there are any.
"""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.live import Live
from rich.markdown import Markdown
from rich.segment import Segment
from rich.text import Text

FENCE = re.compile(r"^\s{0,3}(```|~~~)")
HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
REASONING_LINES = 3
SUMMARY_CHARS = 100
REFRESH_PER_SECOND = 12


def split_finished(text: str) -> tuple[str, str]:
    """`text` cut after its last finished Markdown block: (finished blocks, the rest)."""
    cut = 0
    pos = 0
    in_fence = False
    for line in text.splitlines(keepends=True):
        pos += len(line)
        if not line.endswith("\n"):
            break
        if FENCE.match(line):
            in_fence = not in_fence
            if not in_fence:
                cut = pos
        elif not in_fence and (not line.strip() or HEADING.match(line)):
            cut = pos
    return text[:cut], text[cut:]


class Trimmed:
    """Markdown without the blank lines rich puts around some blocks (lists, code), so the
    answer's blocks are spaced the same however they were cut."""

    def __init__(self, markdown: str) -> None:
        self.markdown = Markdown(markdown)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = console.render_lines(self.markdown, options, pad=False)
        while lines and _blank(lines[-1]):
            lines.pop()
        while lines and _blank(lines[0]):
            lines.pop(0)
        for line in lines:
            yield from line
            yield Segment.line()


def _one_line(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(width - 1, 1)] + "…"


def _blank(line: list[Segment]) -> bool:
    return all(not seg.text.strip() and not (seg.style and seg.style.bgcolor) for seg in line)


class AnswerView:
    """One turn's output. Call `close()` (or `finish`) before anything else writes."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.pending = ""  # the unfinished block
        self.reasoning = ""
        self.status: str | None = None
        self.previews: dict[str, str] = {}  # tool_id -> what it was called with
        self.printed_blocks = 0
        self.streamed = False
        self._live: Live | None = None

    # -- what the gateway sends ----------------------------------------------------------------

    def delta(self, text: str) -> None:
        self._summarise_reasoning()
        self.streamed = True
        finished, self.pending = split_finished(self.pending + text)
        if finished.strip():
            self._print_block(finished)
        self._refresh()

    def reasoning_delta(self, text: str) -> None:
        self.reasoning += text
        self._refresh()

    def tool_start(self, tool_id: str, name: str, preview: str) -> None:
        self.flush()
        self.status = _one_line(f"{name} {preview}", self.console.width - 6)
        self.previews[tool_id] = preview
        self._refresh()

    def tool_complete(self, tool_id: str, name: str, duration: float, is_error: bool) -> None:
        self.status = None
        mark, style = ("✗", "red") if is_error else ("✓", "dim")
        failed = " failed" if is_error else ""
        what = _one_line(f"{name} {self.previews.pop(tool_id, '')}", self.console.width - 24)
        self._print(Text(f"  {mark} {what}{failed} · {duration:.1f}s", style=style))
        self._refresh()

    def set_status(self, text: str | None) -> None:
        """The one-line status under the unfinished text (a running tool, an interrupt)."""
        self.status = text
        self._refresh()

    def note(self, renderable: Any) -> None:
        """A line above the live region (the region's text stays unfinished below it)."""
        self._print(renderable)

    def flush(self) -> None:
        """Print the unfinished block as it is (the text before a tool call is complete)."""
        self._summarise_reasoning()
        if self.pending.strip():
            self._print_block(self.pending)
        self.pending = ""

    def finish(self, payload: dict[str, Any]) -> None:
        """End of the turn: the rest of the answer, then how the turn ended if not well."""
        if not self.streamed and payload.get("status") == "complete":
            self.pending = payload.get("text") or ""
        self.flush()
        self.close()
        status = payload.get("status")
        if status == "error":
            self.console.print(Text(payload.get("text") or "Error", style="bold red"))
        if payload.get("warning"):
            self.console.print(Text(payload["warning"], style="yellow"))

    # -- the live region -----------------------------------------------------------------------

    def close(self) -> None:
        """Stop redrawing (before a prompt, or at the end); `_refresh` starts it again."""
        if self._live is not None:
            self._live.stop()
            self._live = None

    def _refresh(self) -> None:
        view = self._view()
        if view is None:
            if self._live is not None:
                self._live.update(Text(""), refresh=True)
            return
        if self._live is None:
            self._live = Live(
                view,
                console=self.console,
                transient=True,
                auto_refresh=True,
                refresh_per_second=REFRESH_PER_SECOND,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start()
        else:
            self._live.update(view)

    def _view(self) -> Any:
        parts: list[Any] = []
        if self.reasoning.strip():
            parts.append(Text(self._tail(self.reasoning, REASONING_LINES), style="dim italic"))
        if self.pending.strip():
            room = max(3, self.console.size.height - REASONING_LINES - 2)
            parts.append(Trimmed(self._tail(self.pending, room)))
        if self.status:
            parts.append(Text(f"  ⋯ {self.status}", style="dim"))
        return Group(*parts) if parts else None

    def _tail(self, text: str, lines: int) -> str:
        """About the last `lines` screen lines of `text` (long lines wrap)."""
        end = text.strip()[-lines * max(self.console.width, 20) :]
        return "\n".join(end.splitlines()[-lines:])

    # -- the scrollback ------------------------------------------------------------------------

    def _print_block(self, markdown: str) -> None:
        if self.printed_blocks:
            self._print(Text(""))
        self._print(Trimmed(markdown))
        self.printed_blocks += 1

    def _print(self, renderable: Any) -> None:
        """Print for good: while the live region is up, rich prints above it."""
        self.console.print(renderable)

    def _summarise_reasoning(self) -> None:
        """Collapse the reasoning to one dim line once the answer (or a tool) starts."""
        text = " ".join(self.reasoning.split())
        if not text:
            return
        self.reasoning = ""
        short = _one_line(text, min(SUMMARY_CHARS, self.console.width - 4))
        self._print(Text(f"  ∴ {short}", style="dim italic"))
