"""A `TurnEvents` that records what a turn reported, for tests of the agent loop.

    events = RecordingEvents()
    result = agent.run_conversation("hi", events=events)
    assert "".join(events.tokens) == result.final_response

`tool_events` keeps the tool activity in order as tuples:
("started", name, preview, args) and ("finished", name, duration, is_error).
`approvals` keeps each (request, reason) asked; the answer is `approval` (None: nobody can be
asked, so the tool is refused).
"""

from __future__ import annotations

from hermes_agent.turn import TurnEvents
from hermes_agent.usage import UsageReport

__all__ = ["RecordingEvents"]


class RecordingEvents(TurnEvents):
    """Records every event; answers approvals with `approval`."""

    def __init__(self, approval: str | None = None) -> None:
        self.tokens: list[str] = []
        self.reasoning_parts: list[str] = []
        self.tool_events: list[tuple] = []
        self.statuses: list[tuple[str, str]] = []
        self.usages: list[UsageReport] = []
        self.approvals: list[tuple[str, str]] = []
        self.approval = approval

    def token(self, text: str) -> None:
        self.tokens.append(text)

    def reasoning(self, text: str) -> None:
        self.reasoning_parts.append(text)

    def tool_started(self, name: str, preview: str, args: dict[str, str]) -> None:
        self.tool_events.append(("started", name, preview, args))

    def tool_finished(self, name: str, duration: float, is_error: bool) -> None:
        self.tool_events.append(("finished", name, duration, is_error))

    def status(self, kind: str, text: str) -> None:
        self.statuses.append((kind, text))

    def usage(self, report: UsageReport) -> None:
        self.usages.append(report)

    def approve(self, request: str, reason: str) -> str | None:
        self.approvals.append((request, reason))
        return self.approval

    @property
    def text(self) -> str:
        """The answer's text as streamed."""
        return "".join(self.tokens)

    @property
    def status_kinds(self) -> list[str]:
        return [kind for kind, _text in self.statuses]
