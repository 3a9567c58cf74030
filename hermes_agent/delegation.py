"""Sub-agents for `delegate_task`: who may delegate, what a sub-agent gets, what comes back.

A sub-agent is an `AIAgent` one level deeper than the agent that delegates. It shares that
agent's provider, model, workspace, approval policy and store, and asks the user through the
same callback; it starts from a fresh history (the task and its context) with the tools it
was given, at most `max_iterations` model calls (never more than its parent's). Invariants:

- An agent at `max_depth` is not offered `delegate_task`, so nesting is bounded; a depth
  limit of 0 turns delegation off.
- The user's "for this session" approvals reach the sub-agent as a copy: what it is allowed
  for its own session never flows back up to the conversation.
- Interrupting the delegating turn interrupts the sub-agent within `WATCH_SECONDS`.
- Its turn is recorded as a session of its own whose `delegated_from` is the delegating
  session (never `parent_session_id`, which is compression lineage), so listings skip it.
- Its tokens and cost count toward the delegating turn and session as well as its own.
- Its answer comes back as the tool result, headed `ANSWER_HEADING`; a sub-agent that failed,
  was interrupted or ran out of model calls comes back as a tool error saying so. Either
  way the last line names its session (`SESSION_LINE`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hermes_agent.errors import StoreError, ToolError
from hermes_agent.tools.delegate import NAME
from hermes_agent.tools.registry import ApprovalCallback, Tool, ToolContext
from hermes_agent.turn import TurnEvents, TurnResult
from hermes_agent.usage import UsageReport

if TYPE_CHECKING:
    from hermes_agent.agent import AIAgent
    from hermes_agent.settings import Settings

log = logging.getLogger(__name__)

ANSWER_HEADING = "Sub-agent answer:"
SESSION_LINE = "[sub-agent session: {}]"
WATCH_SECONDS = 0.05
TITLE_CHARS = 60
SUB_AGENT_PROMPT = (
    "You are a sub-agent: another agent handed you the task in the user's message and will "
    "see only your final answer. Work on the task with your tools, then answer with the "
    "result in full (what you found or did, and anything left undone)."
)

Delegate = Callable[[str, str, tuple[str, ...] | None], str]
UsageSink = Callable[[UsageReport], None]


@dataclass(frozen=True)
class DelegationLimits:
    """How deep sub-agents may nest and how many model calls each may make."""

    max_depth: int = 2
    max_iterations: int = 15

    @classmethod
    def from_settings(cls, settings: Settings) -> DelegationLimits:
        return cls(settings.delegate_max_depth, settings.delegate_max_iterations)


def tools_at_depth(tools: list[Tool], depth: int, limits: DelegationLimits) -> list[Tool]:
    """The tools an agent at `depth` is offered: `delegate_task` only below `max_depth`."""
    if depth < limits.max_depth:
        return tools
    return [tool for tool in tools if tool.name != NAME]


def delegator(parent: AIAgent, ctx: ToolContext, on_usage: UsageSink) -> Delegate:
    """What `delegate_task` calls during one turn of `parent`, whose tools run with `ctx`;
    each sub-agent's whole usage goes to `on_usage`."""
    return _SubAgents(parent, ctx, on_usage).run


class _ApprovalsOnly(TurnEvents):
    """A sub-agent's turn shows nothing of itself; it only asks the user, as its parent does."""

    def __init__(self, ask: ApprovalCallback | None) -> None:
        self.ask = ask

    def approve(self, request: str, reason: str) -> str | None:
        return self.ask(request, reason) if self.ask is not None else None


class _SubAgents:
    def __init__(self, parent: AIAgent, ctx: ToolContext, on_usage: UsageSink) -> None:
        self.parent = parent
        self.ctx = ctx
        self.on_usage = on_usage

    def run(self, task: str, context: str, names: tuple[str, ...] | None) -> str:
        tools = self._tools(names)
        if self.ctx.cancel.is_set():
            raise ToolError("the turn was interrupted before the sub-agent started")
        child = self._child(tools)
        session_id = child.session_id
        self._record_session(session_id, task)
        result = self._run(child, task if not context else f"{task}\n\nContext:\n{context}")
        self._end_session(result)
        if result.usage.api_calls:
            self.on_usage(result.usage)
        return _reported(result, session_id, child.max_iterations)

    def _tools(self, names: tuple[str, ...] | None) -> list[Tool]:
        """The parent's tools the sub-agent gets: `names` of them, or all it may have."""
        parent = self.parent
        offered = parent.offered_tools()
        allowed = tools_at_depth(offered, parent.depth + 1, parent.delegation)
        if names is None:
            return allowed
        by_name = {tool.name: tool for tool in allowed}
        if NAME in names and NAME not in by_name and any(t.name == NAME for t in offered):
            raise ToolError(
                f"{NAME} cannot be passed on: the sub-agent would be at the deepest level of "
                f"delegation ({parent.delegation.max_depth}); leave it out of tools"
            )
        unknown = [name for name in names if name not in by_name]
        if unknown:
            raise ToolError(
                f"not among your tools: {', '.join(unknown)} "
                f"(yours: {', '.join(by_name) or 'none'})"
            )
        return [by_name[name] for name in names]

    def _child(self, tools: list[Tool]) -> AIAgent:
        from hermes_agent.agent import AIAgent  # the agent imports this module

        parent, ctx = self.parent, self.ctx
        child = AIAgent(
            parent.provider,
            model=parent.model,
            session_db=parent.session_db,
            platform=parent.platform,
            workspace=ctx.workspace,
            tools=tools,
            approval=ctx.approval,
            protected_paths=ctx.protected_paths,
            max_iterations=min(parent.delegation.max_iterations, parent.max_iterations),
            context_length=parent.context_compressor.context_length,
            terminal_timeout=ctx.terminal_timeout,
            ephemeral_system_prompt=SUB_AGENT_PROMPT,
            vision_models=parent.vision_models,
            depth=parent.depth + 1,
            delegation=parent.delegation,
        )
        child.context_compressor.threshold_tokens = parent.context_compressor.threshold_tokens
        child.tool_context.session_approved = set(ctx.session_approved)
        return child

    def _record_session(self, session_id: str, task: str) -> None:
        """Its own session, titled by its task (recall and listings name it by that)."""
        db = self.parent.session_db
        if db is None:
            return
        try:
            db.create_session(
                session_id,
                self.parent.platform,
                model=self.parent.model,
                delegated_from=self.parent.session_id,
            )
        except StoreError as exc:
            raise ToolError(f"the sub-agent's session could not be recorded: {exc}") from None
        first_line = " ".join(task.split("\n", 1)[0].split())[:TITLE_CHARS]
        try:
            db.set_session_title(session_id, db.get_next_title_in_lineage(f"↳ {first_line}"))
        except (StoreError, ValueError) as exc:  # a title is a convenience, never a failure
            log.info("the sub-agent session %s keeps no title: %s", session_id, exc)

    def _run(self, child: AIAgent, message: str) -> TurnResult:
        """The sub-agent's turn, interrupted as soon as the delegating turn is."""
        finished = threading.Event()
        watcher = threading.Thread(
            target=_follow_cancel,
            args=(self.ctx.cancel, child, finished),
            name=f"delegate-{child.session_id}",
            daemon=True,
        )
        watcher.start()
        try:
            return child.run_conversation(message, events=_ApprovalsOnly(self.ctx.ask_approval))
        except StoreError as exc:
            raise ToolError(f"the sub-agent's work could not be recorded: {exc}") from None
        finally:
            finished.set()
            watcher.join()

    def _end_session(self, result: TurnResult) -> None:
        db = self.parent.session_db
        if db is None:
            return
        try:
            db.end_session(result.session_id, result.exit_reason)
        except StoreError as exc:
            log.warning("could not end the sub-agent session %s: %s", result.session_id, exc)


def _follow_cancel(cancel: threading.Event, child: AIAgent, finished: threading.Event) -> None:
    """Interrupt `child` once `cancel` is set, and again until it has finished: a turn that
    starts just then clears its flag."""
    while not finished.is_set():
        if cancel.wait(WATCH_SECONDS):
            child.interrupt()
            finished.wait(WATCH_SECONDS)


def _reported(result: TurnResult, session_id: str, budget: int) -> str:
    where = SESSION_LINE.format(session_id)
    if result.failure is not None:
        raise ToolError(f"the sub-agent failed: {result.failure}\n{where}")
    if result.interrupted:
        raise ToolError(f"the sub-agent was interrupted before it finished\n{where}")
    if result.exit_reason == "max_iterations":
        raise ToolError(
            f"the sub-agent used all {budget} of its model calls without finishing; "
            f"split the task or narrow it\n{where}"
        )
    answer = (result.final_response or "").strip()
    if not answer:
        raise ToolError(f"the sub-agent finished without an answer\n{where}")
    return f"{ANSWER_HEADING}\n{answer}\n\n{where}"
