"""The agent loop every surface drives: model call, tool calls, repeat.

`AIAgent.run_conversation` runs one turn and always returns a `TurnResult`; provider
failures become its `failure`, tool failures become tool results the model reads, and an
interrupt ends the turn promptly. The turn's activity goes to a `TurnEvents`. With a
`session_db` every message is recorded as it completes (its row id kept on the message), so a
crash mid-turn loses at most the message being generated.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hermes_agent.compression import ContextCompressor, estimate_tokens
from hermes_agent.delegation import DelegationLimits, delegator, tools_at_depth
from hermes_agent.errors import ContextLengthExceeded, ProviderError
from hermes_agent.providers.base import (
    ChatRequest,
    Event,
    Provider,
    ReasoningDelta,
    StreamResult,
    TextDelta,
    accumulate,
    valid_event,
)
from hermes_agent.settings import Settings
from hermes_agent.skills import SKILL_PART, skill_text, with_skill
from hermes_agent.standing_context import StandingContext
from hermes_agent.tools.approval import ApprovalPolicy
from hermes_agent.tools.registry import Tool, ToolContext, run_tool, tools_named
from hermes_agent.turn import ROW_ID, TurnEvents, TurnResult
from hermes_agent.usage import TurnUsage, UsageReport

if TYPE_CHECKING:
    from hermes_state import ConversationStore

log = logging.getLogger(__name__)

API_KEYS = ("role", "content", "tool_calls", "tool_call_id", "name")
MAX_CONTEXT_RETRIES = 2
POLL_SECONDS = 0.05
HANDOVER_SECONDS = 0.002
DEFAULT_SYSTEM_PROMPT = (
    "You are Hermes, a capable assistant running on the user's own machine. "
    "Answer clearly and concisely."
)
TOOLS_PROMPT = (
    " You can use tools to work with files in the workspace {workspace} and to run commands "
    "there. Use them when the task needs it, then answer."
)


def _is_skill(part: Any) -> bool:
    return isinstance(part, dict) and part.get("type") == SKILL_PART


def standing_for(settings: Settings) -> StandingContext:
    """Memory (unless the settings turn it off) and skills, from the Hermes home."""
    from hermes_agent.memory import MemoryStore
    from hermes_agent.settings import hermes_home
    from hermes_agent.skills import SkillLibrary, ensure_bundled

    home = hermes_home()
    memory = MemoryStore(home / "memories") if settings.memory else None
    skills = SkillLibrary(home / "skills")
    ensure_bundled(skills)
    return StandingContext(memory, skills)


def new_session_id() -> str:
    """`YYYYmmdd_HHMMSS_<6 hex>`: sortable by time, and a valid web session id too."""
    return time.strftime("%Y%m%d_%H%M%S_") + secrets.token_hex(3)


def model_sees_images(provider: Provider, model: str, vision_models: tuple[str, ...]) -> bool:
    """Whether `model` takes images: as `provider` says (its model list may tell), else as the
    `vision_models` patterns do, matched with and without a vendor prefix ("openai/gpt-4o")."""
    said = getattr(provider, "sees_images", None)
    known = said(model) if callable(said) else None
    if known is not None:
        return known
    names = {model.lower(), model.lower().rsplit("/", 1)[-1]}
    return any(fnmatch.fnmatch(n, p.lower()) for n in names for p in vision_models)


@dataclass
class _Turn:
    """The state of one `run_conversation` call: `messages` is the model's history, `added`
    what this turn put into the conversation."""

    messages: list[dict[str, Any]]
    events: TurnEvents
    tools: ToolContext
    added: list[dict[str, Any]] = field(default_factory=list)
    usage: TurnUsage = field(default_factory=TurnUsage)  # its own model calls, capped
    delegated: TurnUsage = field(default_factory=TurnUsage)  # its sub-agents' calls
    offered: dict[str, Tool] = field(default_factory=dict)  # at the last model call, by name
    final_response: str | None = None
    last_reasoning: str | None = None
    interrupted: bool = False
    failure: ProviderError | None = None
    compressed: bool = False
    last_row_id: int | None = None
    exit_reason: str = "completed"

    def add(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        self.added.append(message)


class AIAgent:
    def __init__(
        self,
        provider: Provider,
        *,
        model: str,
        session_id: str | None = None,
        session_db: ConversationStore | None = None,
        platform: str = "cli",
        workspace: str | Path | None = None,
        tools: list[Tool] | None = None,
        approval: ApprovalPolicy | None = None,
        events: TurnEvents | None = None,
        protected_paths: tuple[Path, ...] = (),
        max_iterations: int = 30,
        context_length: int = 8192,
        compression_threshold: float = 0.75,
        terminal_timeout: float = 60.0,
        ephemeral_system_prompt: str | None = None,
        vision_models: tuple[str, ...] = (),
        standing: StandingContext | None = None,
        tool_source: Callable[[], list[Tool]] | None = None,
        depth: int = 0,
        delegation: DelegationLimits | None = None,
    ) -> None:
        """`events`: where the turns of an agent that serves one conversation report; an agent
        shared between runs gets each run's own through `run_conversation` instead.
        `tool_source`: tools that come and go (the MCP servers'), asked at each model call.
        `depth`: 0, or how many delegations deep a sub-agent runs (`hermes_agent.delegation`)."""
        self.provider = provider
        self.model = model
        self.session_id = session_id or new_session_id()
        self.session_db = session_db
        self.platform = platform
        self.depth = depth
        self.delegation = delegation or DelegationLimits()
        tools = tools_at_depth(list(tools or ()), depth, self.delegation)
        self.tools = tools if provider.supports_tools else []
        self.tool_source = tool_source if provider.supports_tools else None
        self.max_iterations = max_iterations
        self.ephemeral_system_prompt = ephemeral_system_prompt
        self.vision_models = vision_models
        self.standing = standing
        self._standing_block: str | None = None  # taken at the first turn, then kept
        self.events = events or TurnEvents()
        self.context_compressor = ContextCompressor(
            provider, model, context_length, compression_threshold
        )
        self.tool_context = ToolContext(
            workspace=Path(workspace or Path.cwd()).resolve(),
            approval=approval or ApprovalPolicy(),
            protected_paths=protected_paths,
            terminal_timeout=terminal_timeout,
        )
        self._interrupt = threading.Event()
        self._db_session_created = False
        self.session_input_tokens = 0
        self.session_output_tokens = 0
        self.session_api_calls = 0
        self.session_estimated_cost_usd = 0.0

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> AIAgent:
        """An agent wired as the settings say: provider, tools, approval policy, limits."""
        from hermes_agent.providers import create_provider
        from hermes_agent.settings import hermes_home

        provider = kwargs.pop("provider", None) or create_provider(settings)
        kwargs.setdefault("model", settings.effective_model)
        kwargs.setdefault("tools", tools_named(settings.enabled_tools))
        kwargs.setdefault(
            "approval", ApprovalPolicy(settings.approval_mode, settings.terminal_allowlist)
        )
        kwargs.setdefault("protected_paths", (hermes_home(),))
        kwargs.setdefault("max_iterations", settings.max_iterations)
        kwargs.setdefault("context_length", settings.context_length)
        kwargs.setdefault("compression_threshold", settings.compression_threshold)
        kwargs.setdefault("terminal_timeout", settings.terminal_timeout)
        kwargs.setdefault("vision_models", settings.vision_models)
        kwargs.setdefault("standing", standing_for(settings))
        kwargs.setdefault("tool_source", _mcp_tools())
        kwargs.setdefault("delegation", DelegationLimits.from_settings(settings))
        if not settings.memory:
            kwargs["tools"] = [t for t in kwargs["tools"] if t.name != "memory"]
        return cls(provider, **kwargs)

    def sees_images(self) -> bool:
        """Whether the model takes images (see `model_sees_images`)."""
        return model_sees_images(self.provider, self.model, self.vision_models)

    def _readable(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The messages the model may see: attached files turned into what it can read, and
        an invoked skill into its instructions."""
        api = _api_messages(messages)
        if not any(isinstance(m.get("content"), list) for m in api):
            return api
        from hermes_agent.attachment_content import expand
        from hermes_agent.runtime import attachment_store

        api = expand(api, attachment_store(), sees_images=self.sees_images())
        return [self._skills_spelt_out(m) for m in api]

    def _skills_spelt_out(self, message: dict[str, Any]) -> dict[str, Any]:
        content = message.get("content")
        if not isinstance(content, list) or not any(_is_skill(p) for p in content):
            return message
        library = self.standing.skills if self.standing else None
        parts = [
            {"type": "text", "text": skill_text(p[SKILL_PART], library)} if _is_skill(p) else p
            for p in content
        ]
        return {**message, "content": parts}

    def set_model(self, model: str) -> None:
        """Use `model` from the next call on; the compressor sizes the context by it too."""
        self.model = model
        self.context_compressor.model = model

    def interrupt(self, message: str | None = None) -> None:
        """End the current turn as soon as possible; the running tool or call is abandoned."""
        self._interrupt.set()
        self.tool_context.cancel.set()

    # ── the turn ─────────────────────────────────────────────────────────────────────────
    def run_conversation(
        self,
        user_message: str | list,
        system_message: str | None = None,
        conversation_history: list[dict[str, Any]] | None = None,
        events: TurnEvents | None = None,
    ) -> TurnResult:
        """Run one turn to its end and describe it; never raises for provider trouble."""
        self._interrupt.clear()
        events = events or self.events
        # A context of its own for the turn; the session's approvals and task list stay shared.
        tools = replace(
            self.tool_context,
            cancel=threading.Event(),
            ask_approval=events.approve,
            session_id=self.session_id,
        )
        self.tool_context.cancel = tools.cancel
        history = [dict(m) for m in conversation_history or ()]  # row ids change on rotation
        turn = _Turn(messages=history, events=events, tools=tools)
        tools.delegate = delegator(self, tools, lambda report: self._add_delegated(turn, report))
        self._ensure_db_session()
        if self.standing is not None and self.standing.skills is not None:
            user_message = with_skill(user_message, self.standing.skills)
        turn.add({"role": "user", "content": user_message})
        self._record(turn, turn.messages[-1])
        system = self._system_prompt(system_message)
        try:
            self._loop(turn, system)
        except ProviderError as exc:
            turn.failure, turn.exit_reason = exc, f"provider_{exc.kind}"
        return self._result(turn)

    def _loop(self, turn: _Turn, system: str) -> None:
        context_retries = 0
        self._compress_if_needed(turn, system, estimate=True)
        while True:
            if self._interrupt.is_set():
                turn.interrupted, turn.exit_reason = True, "interrupted"
                return
            if turn.usage.api_calls >= self.max_iterations:
                turn.final_response = (
                    f"I stopped after {self.max_iterations} steps without finishing; "
                    "ask me to continue if you want more."
                )
                turn.add({"role": "assistant", "content": turn.final_response})
                self._record(turn, turn.messages[-1])
                turn.exit_reason = "max_iterations"
                return
            try:
                result = self._call_model(turn, system)
            except ContextLengthExceeded:
                if context_retries >= MAX_CONTEXT_RETRIES or not self._compress(turn):
                    raise
                context_retries += 1
                continue
            if result is None:
                turn.interrupted, turn.exit_reason = True, "interrupted"
                return
            assistant = self._assistant_message(result, bool(turn.offered))
            turn.add(assistant)
            self._record(turn, assistant, finish_reason=result.finish_reason)
            if result.reasoning.strip():
                turn.last_reasoning = result.reasoning
            if not assistant.get("tool_calls"):
                turn.final_response = result.text
                return
            self._run_tools(turn, assistant["tool_calls"])
            self._compress_if_needed(turn, system, estimate=False)

    def _call_model(self, turn: _Turn, system: str) -> StreamResult | None:
        """Stream one completion, forwarding deltas; None if interrupted meanwhile.

        The provider runs in a worker thread so an interrupt never waits on a silent
        connection: the loop here polls, and an abandoned worker ends with its timeout.
        """
        turn.offered = {tool.name: tool for tool in self.offered_tools()}
        request = ChatRequest(
            model=self.model,
            messages=[{"role": "system", "content": system}, *self._readable(turn.messages)],
            tools=[tool.schema() for tool in turn.offered.values()] or None,
        )
        events: queue.Queue[Event | BaseException | None] = queue.Queue()
        cancel = threading.Event()
        worker = threading.Thread(
            target=_pump, args=(self.provider, request, cancel, events), daemon=True
        )
        worker.start()
        result = StreamResult()
        while True:
            if self._interrupt.is_set():
                cancel.set()
                return None
            try:
                event = events.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            if event is None:
                break
            if isinstance(event, BaseException):
                raise event
            accumulate(result, event)
            _forward(event, turn.events)
        turn.usage.add(result.usage)
        self._record_usage(result, turn.events)
        if result.usage is not None:
            self.context_compressor.last_prompt_tokens = result.usage.input_tokens
        return result

    def _assistant_message(self, result: StreamResult, tools_offered: bool) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": result.text}
        if result.reasoning.strip():
            message["reasoning"] = result.reasoning
        if result.tool_calls and tools_offered:
            message["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in result.tool_calls
            ]
        return message

    def offered_tools(self) -> list[Tool]:
        """The tools the model is offered now: the agent's own, then the MCP servers'."""
        if self.tool_source is None:
            return self.tools
        try:
            extra = self.tool_source()
        except Exception:  # the servers' trouble must never end a turn
            log.exception("could not list the MCP servers' tools")
            return self.tools
        own = {tool.name for tool in self.tools}
        return self.tools + [tool for tool in extra if tool.name not in own]

    def _run_tools(self, turn: _Turn, calls: list[dict[str, Any]]) -> None:
        offered = turn.offered
        for call in calls:
            name = call["function"]["name"]
            arguments = call["function"]["arguments"]
            if self._interrupt.is_set():
                output, is_error, duration = "Interrupted before this tool ran.", True, 0.0
            else:
                _safely(turn.events.tool_started, name, arguments[:200], _preview_args(arguments))
                started = time.monotonic()
                output, is_error = run_tool(name, arguments, turn.tools, offered)
                duration = round(time.monotonic() - started, 3)
            _safely(turn.events.tool_finished, name, duration, is_error)
            message = {"role": "tool", "tool_call_id": call["id"], "name": name, "content": output}
            # Kept for the surfaces that show the call again later; never sent to the model.
            message["_duration"] = duration
            if is_error:
                message["_is_error"] = True
            turn.add(message)
            self._record(turn, message)

    # ── compression ──────────────────────────────────────────────────────────────────────
    def _compress_if_needed(self, turn: _Turn, system: str, *, estimate: bool) -> None:
        compressor = self.context_compressor
        if estimate:
            tokens = estimate_tokens(
                [{"role": "system", "content": system}, *turn.messages],
                [t.schema() for t in turn.offered.values() or self.tools],
            )
        else:
            tokens = compressor.last_prompt_tokens
        if compressor.should_compress(tokens):
            self._compress(turn)

    def _compress(self, turn: _Turn) -> bool:
        """Summarise the middle of the history; with a session_db, continue in a new session."""
        if not self.context_compressor.can_compress(turn.messages):
            return False
        _safely(turn.events.status, "compressing", "Compressing the conversation…")
        before = len(turn.messages)
        kept = {id(m) for m in turn.messages}
        turn.messages = self.context_compressor.compress(turn.messages, self._interrupt)
        _add_summary(turn, kept)
        turn.compressed = True
        if self.session_db is not None:
            turn.last_row_id = self._rotate_session(turn.messages)
        _safely(turn.events.status, "compressed", f"{before} messages → {len(turn.messages)}")
        return True

    def _rotate_session(self, messages: list[dict[str, Any]]) -> int | None:
        """End this session as `compression` and continue in a child that inherits the title;
        the history is recorded there again, each message taking its new row id, and the
        child carries the files those messages carry. Returns the last row id."""
        from hermes_agent.attachment_content import carried_ids, keep_files_for
        from hermes_agent.runtime import attachment_store

        db, old = self.session_db, self.session_id
        last = None
        try:
            title = db.get_session_title(old)
            db.end_session(old, "compression")
            self.session_id = new_session_id()
            db.create_session(
                session_id=self.session_id,
                source=self.platform,
                model=self.model,
                parent_session_id=old,
            )
            if title:
                db.set_session_title(self.session_id, db.get_next_title_in_lineage(title))
            for message in messages:
                last = self._record_row(message)
            if carried_ids(messages):  # the store is opened only when there are files
                keep_files_for(attachment_store(), self.session_id, messages)
        except (ValueError, OSError) as exc:
            log.warning("could not record the compressed continuation of %s: %s", old, exc)
        return last

    # ── the session store ────────────────────────────────────────────────────────────────
    def _ensure_db_session(self) -> None:
        if self.session_db is None or self._db_session_created:
            return
        self.session_db.create_session(self.session_id, self.platform, model=self.model)
        self._db_session_created = True

    def _record(
        self, turn: _Turn, message: dict[str, Any], finish_reason: str | None = None
    ) -> None:
        row_id = self._record_row(message, finish_reason)
        if row_id is not None:
            turn.last_row_id = row_id

    def _record_row(self, message: dict[str, Any], finish_reason: str | None = None) -> int | None:
        """Append `message` to the store and keep its row id on it."""
        if self.session_db is None:
            return None
        row_id = self.session_db.append_message(
            self.session_id,
            role=message["role"],
            content=message.get("content"),
            tool_calls=message.get("tool_calls"),
            tool_call_id=message.get("tool_call_id"),
            tool_name=message.get("name"),
            reasoning=message.get("reasoning"),
            finish_reason=finish_reason,
        )
        message[ROW_ID] = row_id
        return row_id

    def _record_usage(self, result: StreamResult, events: TurnEvents) -> None:
        step = TurnUsage()
        step.add(result.usage)
        report = step.report(self.model, self.provider.name)
        self._count_usage(report)
        _safely(events.usage, report)

    def _add_delegated(self, turn: _Turn, report: UsageReport) -> None:
        """A sub-agent's usage counts toward this turn and this session (its own session
        keeps its own figures too), so what a conversation cost includes its delegations."""
        turn.delegated.absorb(report)
        self._count_usage(report)

    def _count_usage(self, report: UsageReport) -> None:
        """Adds `report` to the session's running totals, here and in the store."""
        self.session_api_calls += report.api_calls
        self.session_input_tokens += report.input_tokens
        self.session_output_tokens += report.output_tokens
        self.session_estimated_cost_usd += report.estimated_cost_usd or 0.0
        if self.session_db is None:
            return
        self.session_db.update_token_counts(
            self.session_id,
            input_tokens=report.input_tokens,
            output_tokens=report.output_tokens,
            cache_read_tokens=report.cache_read_tokens,
            cache_write_tokens=report.cache_write_tokens,
            reasoning_tokens=report.reasoning_tokens,
            estimated_cost_usd=report.estimated_cost_usd,
            cost_status=report.cost_status,
            model=self.model,
            api_call_count=report.api_calls,
        )

    # ── prompt and result ────────────────────────────────────────────────────────────────
    def _system_prompt(self, system_message: str | None) -> str:
        prompt = system_message or DEFAULT_SYSTEM_PROMPT
        if self.tools and not system_message:
            prompt += TOOLS_PROMPT.format(workspace=self.tool_context.workspace)
        if self.standing is not None and not system_message:
            if self._standing_block is None:
                self._standing_block = self.standing.block(self.session_db, self.session_id)
            if self._standing_block:
                prompt += "\n\n" + self._standing_block
        if self.ephemeral_system_prompt:
            prompt += "\n\n" + self.ephemeral_system_prompt
        return prompt

    def _result(self, turn: _Turn) -> TurnResult:
        return TurnResult(
            new_messages=tuple(dict(m) for m in turn.added),
            context=tuple(turn.messages),
            usage=_whole_usage(turn).report(self.model, self.provider.name),
            session_id=self.session_id,
            final_response=turn.final_response,
            last_reasoning=turn.last_reasoning,
            failure=turn.failure,
            interrupted=turn.interrupted,
            exit_reason=turn.exit_reason,
            compressed=turn.compressed,
            last_row_id=turn.last_row_id,
            model=self.model,
            provider=self.provider.name,
        )


def _mcp_tools() -> Callable[[], list[Tool]]:
    """The MCP servers' tools, from the process's hub; its servers begin to start now."""
    from hermes_agent.mcp_client import shared_hub

    hub = shared_hub()
    if hub.configured():
        hub.start()
    return hub.tools


def _pump(
    provider: Provider,
    request: ChatRequest,
    cancel: threading.Event,
    events: queue.Queue,
) -> None:
    """Worker: move the provider's events onto the queue; end with None or the exception."""
    next_handover = 0.0
    try:
        for event in provider.stream(request, cancel):
            if cancel.is_set():
                return
            events.put(valid_event(event))
            now = time.monotonic()
            if now >= next_handover:
                # Hand the GIL to the threads waiting for this event now, not at the next
                # switch; at most every HANDOVER_SECONDS, so a fast stream does not pay a
                # thread switch a token.
                next_handover = now + HANDOVER_SECONDS
                time.sleep(0)
    except BaseException as exc:  # handed to the loop, which raises it in its own thread
        events.put(exc)
        return
    events.put(None)


def _api_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the model may see: no error markers, only the keys the chat API knows."""
    return [
        {k: v for k, v in m.items() if k in API_KEYS}
        for m in messages
        if isinstance(m, dict) and not m.get("_error")
    ]


def _preview_args(arguments: str) -> dict[str, Any]:
    try:
        parsed = json.loads(arguments or "{}")
    except json.JSONDecodeError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    return {k: str(v)[:120] for k, v in list(parsed.items())[:4]}


def _add_summary(turn: _Turn, kept: set[int]) -> None:
    """Put the compression's summary among the turn's messages where it stands in the
    context: before the first of them it precedes (or last)."""
    at = next((i for i, m in enumerate(turn.messages) if id(m) not in kept), None)
    if at is None:
        return
    after = {id(m) for m in turn.messages[at + 1 :]}
    place = next((i for i, m in enumerate(turn.added) if id(m) in after), len(turn.added))
    turn.added.insert(place, turn.messages[at])


def _forward(event: Event, events: TurnEvents) -> None:
    if isinstance(event, TextDelta):
        _safely(events.token, event.text)
    elif isinstance(event, ReasoningDelta):
        _safely(events.reasoning, event.text)


def _whole_usage(turn: _Turn) -> TurnUsage:
    """The turn's own model calls and its sub-agents' together."""
    whole = TurnUsage(**vars(turn.usage))
    whole.absorb(turn.delegated)
    return whole


def _safely(callback: Callable[..., None], *args: Any) -> None:
    """Report to the surface; a failing report is logged and never ends the turn."""
    try:
        callback(*args)
    except Exception:
        log.exception("turn event %r failed", getattr(callback, "__name__", callback))
