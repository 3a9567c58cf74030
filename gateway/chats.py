"""One conversation of the gateway: a private chat, or one person in a group chat.

A `Chat` holds the conversation's current state.db session, its history (the model's
context, loaded from state.db on first use) and its agent. Its messages wait in `queue` and
one worker task takes them in order, so a chat has one turn at a time; different chats run
in parallel.

The methods named `*_blocking` call the model or the store and run in a worker thread
(`asyncio.to_thread`); what the turn reports in that thread is handed to the
event loop with `call_soon_threadsafe`. Everything else runs on the loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.platforms.base import quietly
from hermes_agent import history as stored_history
from hermes_agent.agent import new_session_id
from hermes_agent.approval_queue import Approvals
from hermes_agent.attachment_content import keep_files_for
from hermes_agent.errors import StoreError
from hermes_agent.settings import Settings
from hermes_agent.titles import title_session
from hermes_agent.turn import TurnEvents, TurnResult
from hermes_agent.usage import UsageReport, session_usage
from hermes_state.messages import content_text

if TYPE_CHECKING:
    from hermes_agent.attachments import AttachmentStore
    from hermes_state import ConversationStore

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What every chat shares: the settings, the one provider, state.db, the workspace its
    tools work in, the approvals waiting for an answer, the event loop, and the store of
    the files people send."""

    settings: Settings
    provider: Any
    db: ConversationStore | None
    workspace: Path
    approvals: Approvals
    loop: asyncio.AbstractEventLoop
    attachments: AttachmentStore


class Chat:
    def __init__(  # noqa: PLR0917 - all of it is needed to place the conversation
        self,
        key: str,
        platform: str,
        user_id: str,
        entry: dict[str, Any] | None,
        services: Services,
        can_ask: bool,
    ) -> None:
        self.key = key
        self.platform = platform
        self.user_id = user_id
        self.services = services
        self.can_ask = can_ask
        entry = entry or {}
        self.session_id: str = entry.get("session_id") or new_session_id()
        self.model: str = entry.get("model") or services.settings.effective_model
        self.history: list[dict[str, Any]] | None = None
        self.agent: Any = None
        self.queue: asyncio.Queue = asyncio.Queue()
        self.worker: asyncio.Task | None = None
        self.running = False
        self.answer: Any = None
        self.channel: Any = None
        self.stop_notice: str | None = None
        self.stop_after = ""
        self.placed: Callable[[str], None] | None = None
        self._cancel = threading.Event()
        self._row_ready = False

    def entry(self) -> dict[str, Any]:
        """What `sessions.json` keeps about this conversation."""
        return {"session_id": self.session_id, "model": self.model}

    # -- the turn (worker thread) ------------------------------------------------------------

    def run_turn_blocking(self, content: str | list[dict[str, Any]]) -> TurnResult:
        """Run one turn on `content` (text, or text and file parts); keep its messages as the
        history and follow a compression. The conversation refers to the files it carries,
        and a continuation after a compression to every file in its history."""
        history = self.load_blocking()
        agent = self._agent()
        if self._cancel.is_set():  # /stop came before the agent could be told
            return TurnResult(
                new_messages=(),
                context=tuple(history),
                usage=UsageReport(),
                session_id=self.session_id,
                interrupted=True,
                exit_reason="interrupted",
            )
        self._ensure_row()
        keep_files_for(self.services.attachments, self.session_id, [{"content": content}])
        result = agent.run_conversation(content, conversation_history=history)
        self.history = list(result.context)
        self.session_id = result.session_id
        if not history and result.completed and self.services.db is not None:
            self._title(content_text(content))
        return result

    def load_blocking(self) -> list[dict[str, Any]]:
        if self.history is None:
            db = self.services.db
            self.history = (
                db.get_messages_as_conversation(self.session_id, with_row_ids=True) if db else []
            )
        return list(self.history)

    def _agent(self) -> Any:
        if self.agent is None:
            from hermes_agent import AIAgent

            services = self.services
            self.agent = AIAgent.from_settings(
                services.settings,
                provider=services.provider,
                model=self.model,
                session_id=self.session_id,
                session_db=services.db,
                platform=self.platform,
                workspace=services.workspace,
                events=_ChatEvents(self),
            )
        return self.agent

    def _ensure_row(self) -> None:
        """Record the session with the person's user id before the agent records into it."""
        db = self.services.db
        if db is None or self._row_ready:
            return
        db.create_session(self.session_id, self.platform, model=self.model, user_id=self.user_id)
        self._row_ready = True

    def _title(self, text: str) -> None:
        try:
            title_session(self.services.db, self.session_id, text)
        except StoreError as exc:
            log.warning("could not title session %s: %s", self.session_id, exc)

    # -- what the turn reports (worker thread → loop) ------------------------------------------

    def feed_answer(self, delta: str) -> None:
        if self.answer is not None:
            self.answer.feed(delta)

    def break_paragraph(self) -> None:
        if self.answer is not None:
            self.answer.paragraph()

    def ask_blocking(self, command: str, reason: str) -> str | None:
        """Show the command with buttons and wait for the person's choice (a denial when
        the turn is stopped or nobody answers in time); None where nobody can answer."""
        if not self.can_ask:
            return None
        channel, loop = self.channel, self.services.loop
        if channel is None:
            return "deny"
        approvals = self.services.approvals
        item = approvals.open(self.key, command, reason)
        asyncio.run_coroutine_threadsafe(quietly(channel.ask_approval(item)), loop)
        choice = approvals.wait(item)
        asyncio.run_coroutine_threadsafe(quietly(channel.approval_closed(item, choice)), loop)
        return choice

    # -- stopping (loop) ----------------------------------------------------------------------

    def interrupt(self, notice: str, after: str = "") -> bool:
        """Stop the running turn or compression soon; False when nothing was running.

        `notice` is said where the answer stops, followed by `after` (what else the stop
        did); should the work end without saying the notice, `after` is said on its own."""
        if not self.running:
            return False
        self.stop_notice = notice
        self.stop_after = f"{self.stop_after} {after}".strip()
        self._cancel.set()
        if self.agent is not None:
            self.agent.interrupt(notice)
        self.services.approvals.deny_all(self.key)
        return True

    def take_stop_notice(self) -> str | None:
        """The stop's notice and what follows it, once: whoever says it takes it."""
        if self.stop_notice is None:
            return None
        notice = f"{self.stop_notice} {self.take_stop_after()}".strip()
        self.stop_notice = None
        return notice

    def take_stop_after(self) -> str:
        """What the stop did besides stopping, if not said yet; once."""
        after, self.stop_after = self.stop_after, ""
        return after

    def begin(self, channel: Any, placed: Callable[[str], None] | None = None) -> None:
        """A message's work starts; `placed` learns where its answer is shown."""
        self.running, self.channel, self.stop_notice, self.placed = True, channel, None, placed
        self.stop_after = ""
        self._cancel = threading.Event()

    def end(self) -> None:
        self.running, self.channel, self.answer = False, None, None

    # -- commands (worker thread) -------------------------------------------------------------

    def reset_blocking(self, end_reason: str = "session_reset") -> None:
        """Leave the current session (ended in the store) for a fresh one."""
        self._end_current(end_reason)
        self._switch(new_session_id(), [])

    def resume_blocking(self, target: str) -> list[dict[str, Any]]:
        """Continue stored session `target` here; its transcript becomes the history."""
        db = self.services.db
        self._end_current("session_switch")
        db.reopen_session(target)
        history = db.get_messages_as_conversation(target, with_row_ids=True)
        self._switch(target, history)
        self._row_ready = True
        return history

    def branch_blocking(self) -> tuple[str | None, int] | None:
        """Go on in a stored copy of the conversation, titled "<title> (branch)"; the original
        is ended as it is, for /resume. (the copy's title, messages copied), or None when
        there is nothing to copy yet."""
        history = self.load_blocking()
        if not history:
            return None
        db = self.services.db
        # The copy is stored before the chat moves to it: a store that fails leaves it here.
        copy_id = new_session_id()
        title = stored_history.store_branch(
            db, self.session_id, history, copy_id,
            files=self.services.attachments, platform=self.platform, model=self.model,
            user_id=self.user_id,
        )  # fmt: skip
        self._end_current("session_switch")
        self._switch(copy_id, db.get_messages_as_conversation(copy_id, with_row_ids=True))
        self._row_ready = True
        return title, len(history)

    def undo_blocking(self) -> str | list[dict[str, Any]] | None:
        """Drop the last user message and everything after it; its content (text, or text
        and file parts), or None."""
        history = self.load_blocking()
        cut = stored_history.last_user_index(history)
        if cut is None:
            return None
        removed = history[cut].get("content")
        self.history = history[:cut]
        stored_history.forget(self.services.db, self.session_id, history[cut:])
        return removed if isinstance(removed, str | list) else ""

    def forget_unanswered_blocking(self, text: str) -> bool:
        """Forget the history's last message when it says `text` and was never answered: a
        restart cut its turn, and the person is asked to send it again, so it is kept once."""
        history = self.load_blocking()
        last = history[-1] if history else {}
        if last.get("role") != "user" or content_text(last.get("content")) != text:
            return False
        self.history = history[:-1]
        stored_history.forget(self.services.db, self.session_id, history[-1:])
        return True

    def compress_blocking(self) -> tuple[int, int] | None:
        """Summarise the history now: (messages before, after), or None if too short."""
        before = self.load_blocking()
        agent = self._agent()
        compressed = stored_history.compress(agent, before, self._cancel)
        if compressed is None:
            return None
        self.history = compressed
        self.session_id = agent.session_id
        return len(before), len(compressed)

    def set_title_blocking(self, title: str) -> str:
        """Set the session's title (recording the session if it has no row yet); raises
        ValueError when the title is taken or too long."""
        db = self.services.db
        clean = db.sanitize_title(title)
        if clean is None:
            raise ValueError("the title is empty")
        self._ensure_row()
        db.set_session_title(self.session_id, clean)
        return clean

    def usage_blocking(self) -> dict[str, Any]:
        """The stored session's totals, and how full the context is."""
        usage = session_usage(self.agent) if self.agent is not None else {}
        row = self.services.db.get_session(self.session_id) if self.services.db else None
        return {"usage": usage, "row": row or {}}

    def switch_model(self, model: str) -> None:
        self.model = model
        if self.agent is not None:
            self.agent.set_model(model)

    def _end_current(self, end_reason: str) -> None:
        db = self.services.db
        if db is None:
            return
        try:
            db.end_session(self.session_id, end_reason)
        except StoreError as exc:
            log.warning("could not end session %s: %s", self.session_id, exc)

    def _switch(self, session_id: str, history: list[dict[str, Any]]) -> None:
        self.session_id, self.history = session_id, history
        self.agent, self._row_ready = None, False


class _ChatEvents(TurnEvents):
    """A chat's turns, streamed into its open answer on the event loop."""

    def __init__(self, chat: Chat) -> None:
        self.chat = chat

    def token(self, text: str) -> None:
        self.chat.services.loop.call_soon_threadsafe(self.chat.feed_answer, text)

    def tool_started(self, name: str, preview: str, args: dict[str, str]) -> None:
        self.chat.services.loop.call_soon_threadsafe(self.chat.break_paragraph)

    def approve(self, request: str, reason: str) -> str | None:
        return self.chat.ask_blocking(request, reason)
