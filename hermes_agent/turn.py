"""What a surface gives a turn and gets back: `TurnEvents` in, `TurnResult` out.

A turn's activity (tokens, reasoning, tool calls, approvals, usage) goes to one `TurnEvents`
object passed to `AIAgent.run_conversation`, so a shared agent never carries one run's
callbacks into another. The result says exactly what the turn added, with each message's
state.db row id when it was recorded, so no surface has to work it out by comparing
histories or reading error text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hermes_agent.errors import ContextLengthExceeded, ProviderError
from hermes_agent.providers.base import describes_context_overflow
from hermes_agent.usage import UsageReport
from hermes_state.messages import ROW_ID

__all__ = ["ROW_ID", "TurnEvents", "TurnResult", "as_turn_result"]


class TurnEvents:
    """A turn's activity as it happens; every method is a no-op until a surface overrides it.

    Methods run on the turn's thread; an exception in one is logged and never ends the turn.
    """

    def token(self, text: str) -> None:
        """A piece of the answer's text."""

    def reasoning(self, text: str) -> None:
        """A piece of the model's reasoning."""

    def tool_started(self, name: str, preview: str, args: dict[str, str]) -> None:
        """A tool call begins; `args` are its arguments shortened for display."""

    def tool_finished(self, name: str, duration: float, is_error: bool) -> None:
        """The tool call that started last has ended."""

    def status(self, kind: str, text: str) -> None:
        """A change of state worth showing: "compressing", "compressed"."""

    def usage(self, report: UsageReport) -> None:
        """One model call's usage, as soon as the provider reported it."""

    def approve(self, request: str, reason: str) -> str | None:
        """Ask the user to allow `request`: "once", "session", "always" or "deny"; None when
        nobody can be asked (the tool is then refused)."""
        return None


@dataclass(frozen=True)
class TurnResult:
    """One turn, as it ended.

    `new_messages`: exactly the messages this turn added to the conversation, in context
    order, each with its state.db row id under `ROW_ID` when it was recorded: the user's
    message and the agent's, and the summary of a compression during the turn (marked
    `SUMMARY_FLAG`), which comes before the user's message when it summarised what preceded
    it. `context`: the history the model continues from next
    time (compressed when the turn compressed it). `last_row_id`: the newest state.db row of
    `session_id` the turn wrote, so a surface can tell later rows from its own.
    """

    new_messages: tuple[dict[str, Any], ...]
    context: tuple[dict[str, Any], ...]
    usage: UsageReport
    session_id: str
    final_response: str | None = None
    last_reasoning: str | None = None
    failure: ProviderError | None = None
    interrupted: bool = False
    exit_reason: str = "completed"
    compressed: bool = False
    last_row_id: int | None = None
    model: str = ""
    provider: str = ""

    @property
    def completed(self) -> bool:
        return self.failure is None and not self.interrupted and self.exit_reason == "completed"

    @property
    def answered(self) -> bool:
        """Whether an assistant message with text came out of the turn."""
        return any(
            m.get("role") == "assistant" and str(m.get("content") or "").strip()
            for m in self.new_messages
        )


def as_turn_result(result: TurnResult | Mapping[str, Any], session_id: str) -> TurnResult:
    """A `TurnResult` from an agent that returns the classic result dict (`final_response`,
    `messages` as the whole history, `failed`/`partial` with `error`, `interrupted`,
    `api_calls`), as agents written for other hosts do; a `TurnResult` passes unchanged."""
    if isinstance(result, TurnResult):
        return result
    messages = result.get("messages")
    error = result.get("error")
    failure = None
    if result.get("failed") or (result.get("partial") and error):
        failure = _failure_from_text(str(error or "the turn failed"))
    interrupted = bool(result.get("interrupted"))
    return TurnResult(
        new_messages=(),
        context=tuple(messages) if isinstance(messages, list) else (),
        usage=UsageReport(api_calls=int(result.get("api_calls") or 0)),
        session_id=session_id,
        final_response=result.get("final_response"),
        last_reasoning=result.get("last_reasoning"),
        failure=failure,
        interrupted=interrupted,
        exit_reason="interrupted" if interrupted else "failed" if failure else "completed",
    )


def _failure_from_text(text: str) -> ProviderError:
    return ContextLengthExceeded(text) if describes_context_overflow(text) else ProviderError(text)
