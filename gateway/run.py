"""`hermes gateway`: the agent behind chat platforms, one session per conversation.

The runner loads the platforms enabled in the settings (`gateway.platforms`), lets in only
the people allowed (`gateway.access`), maps each message to its conversation (`Chat`: a
private chat, or one person in a group) and answers it with a turn of `hermes_agent.AIAgent`,
recorded in state.db with the platform as the session's `source`. A conversation has one turn
at a time; messages that arrive meanwhile wait in order. `/stop` and approval buttons do not
wait: they act on the running turn.

One asyncio loop runs the platforms; turns run in worker threads, whose callbacks come back
to the loop. On shutdown the runner stops taking messages, lets running turns finish (up to
`gateway.shutdown_timeout` seconds), interrupts the rest, and exits; messages taken but not
yet answered stay in the inbox for the next start.

Photos and files come by reference; their bytes are fetched and stored when the message's
turn begins (`gateway.files`), so nothing heavy happens while receiving. Content the gateway
cannot take yet (voice, stickers...) is answered with a reply naming it, never dropped.

A chat app must never receive an empty reply for a turn that did work or failed: the user
would see nothing and wait forever. `_normalize_empty_agent_response` says what happened
instead. Interrupted turns stay silent there (the runner tells the user the turn was
stopped).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from gateway import files
from gateway.access import Access
from gateway.chats import Chat, Services
from gateway.events import Command, Inbound
from gateway.platforms.base import Adapter, Channel, quietly
from gateway.store import GatewayState
from hermes_agent.approval_queue import Approvals
from hermes_agent.errors import ConfigError
from hermes_agent.plugins import PLATFORMS
from hermes_agent.settings import DEFAULT_WORKSPACE, GatewaySettings, hermes_home
from hermes_agent.turn import TurnResult, as_turn_result
from hermes_cron import service as scheduler

log = logging.getLogger("gateway")

CONTEXT_OVERFLOW_REPLY = (
    "⚠️ Session too large for the model's context window.\n"
    "Use /compact to compress the conversation, or /reset to start fresh."
)
NO_RESPONSE_REPLY = (
    "⚠️ Processing completed but no response was generated. This may be a transient "
    "error — try sending your message again."
)


def _normalize_empty_agent_response(
    agent_result: TurnResult | Mapping[str, Any], response: str, *, history_len: int = 0
) -> str:
    """The reply to send: `response` when there is one, else a message saying what happened.

    `history_len` is kept for callers of the classic signature; the failure's kind, not the
    history's length, tells a context overflow.
    """
    if response:
        return response
    result = as_turn_result(agent_result, session_id="")
    if result.failure is not None:
        return _failure_reply(result.failure)
    if result.usage.api_calls > 0 and not result.interrupted:
        return NO_RESPONSE_REPLY
    return response


def _failure_reply(failure: BaseException) -> str:
    if getattr(failure, "kind", None) == "context_length":
        return CONTEXT_OVERFLOW_REPLY
    detail = str(failure)[:300]
    return f"The request failed: {detail}\nTry again or use /reset to start a fresh session."


# ── the runner ───────────────────────────────────────────────────────────────────────────────

WORKER_THREADS = 64  # turns waiting on an approval hold a thread each
TYPING_AFTER = 0.3  # seconds
TYPING_EVERY = 4.0  # seconds; Telegram shows "typing…" for five
INTERRUPT_GRACE = 10.0
STOPPED = "⏹ Stopped."
RESTARTING = "⏹ Stopped: Hermes is restarting. Send your message again in a moment."
CUT_OFF = "✂️ This answer was cut off. "
RESTARTED = (
    "⚠️ Hermes restarted while answering “{preview}”. Send it again if you still need an answer."
)
DROPPED_BY_STOP = "Dropped: /stop came before Hermes got to this message."
DROPPED_BY_SHUTDOWN = "Dropped: Hermes is shutting down."
FAILED = "⚠️ Something went wrong on Hermes' side: {error}"
TEXT_ONLY = "I can only read text messages for now."
UNSUPPORTED = "{what} are not supported yet; send text, a photo or a file."


class GatewayRunner:
    """The gateway: platforms in, turns out. `serve()` runs it until `stop()`."""

    def __init__(self, settings: GatewaySettings, home: Path | None = None) -> None:
        self.settings = settings
        self.directory = (home or hermes_home()) / "gateway"
        self.state = GatewayState(self.directory)
        self.access = Access(settings, self.directory)
        self.approvals = Approvals()
        self.adapters: dict[str, Adapter] = {}
        self.chats: dict[str, Chat] = {}
        self.services: Services | None = None
        self.stopping = False
        self._stop = asyncio.Event()

    # -- lifecycle ---------------------------------------------------------------------------

    async def serve(self) -> None:
        """Start the platforms, answer until `stop()`, then shut down gracefully."""
        loop = asyncio.get_running_loop()
        loop.set_default_executor(
            ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="gateway-turn")
        )
        self.services = await asyncio.to_thread(self._services, loop)
        self.adapters = {a.name: a for a in build_adapters(self)}
        if not self.adapters:
            raise ConfigError("no platform is enabled: set gateway.platforms")
        try:
            for adapter in self.adapters.values():
                await adapter.start()
            await self._recover()
            await asyncio.to_thread(scheduler.start_scheduler)
            await self._stop.wait()
        finally:
            scheduler.stop_scheduler()
            await self._shutdown()

    def stop(self) -> None:
        """Begin the graceful shutdown (call on the loop, e.g. from a signal handler); asked
        a second time, stop the running turns at once instead of waiting for them."""
        if self._stop.is_set():
            for chat in self.chats.values():
                chat.interrupt(RESTARTING)
        self._stop.set()

    def _services(self, loop: asyncio.AbstractEventLoop) -> Services:
        from hermes_agent.runtime import (
            attachment_store,
            current_settings,
            shared_provider,
            state_db,
        )

        workspace = Path(self.settings.workspace or DEFAULT_WORKSPACE).expanduser()
        workspace.mkdir(parents=True, exist_ok=True)
        return Services(
            current_settings(),
            shared_provider(),
            state_db(),
            workspace,
            self.approvals,
            loop,
            attachment_store(),
        )

    async def _recover(self) -> None:
        """Answer the messages taken before the last stop; a turn that had started is not
        run again (its tools may have run): the person is asked to send it again."""
        for event, started, answer_at in self.state.pending():
            adapter = self.adapters.get(event.platform)
            if adapter is None:
                continue
            if not started:
                await self.receive(event)
                continue
            channel = adapter.channel_for(event)
            said = files.turn_text(event)
            await asyncio.to_thread(self._chat(event).forget_unanswered_blocking, said)
            notice = RESTARTED.format(preview=" ".join(said.split())[:60])
            if answer_at is None:
                await quietly(channel.send(notice))
            else:
                await quietly(channel.cut_off(answer_at, CUT_OFF + notice))
            self.state.done(event)

    async def _shutdown(self) -> None:
        self.stopping = True
        for adapter in self.adapters.values():
            await quietly(adapter.stop_receiving())
        busy = [c.worker for c in self.chats.values() if c.worker and not c.worker.done()]
        if busy:
            _, late = await asyncio.wait(busy, timeout=self.settings.shutdown_timeout)
            if late:
                for chat in self.chats.values():
                    chat.interrupt(RESTARTING)
                await asyncio.wait(late, timeout=INTERRUPT_GRACE)
        for chat in self.chats.values():
            await self._drop_queued(chat, DROPPED_BY_SHUTDOWN, keep_durable=True)
        for adapter in self.adapters.values():
            await quietly(adapter.close())
        await asyncio.to_thread(self.state.flush)

    # -- messages in -------------------------------------------------------------------------

    async def accept(self, platform: str, cursor: int, events: list[Inbound]) -> None:
        """A batch the platform will not send again: recorded before it is answered."""
        await asyncio.to_thread(self.state.accept, platform, cursor, events)
        for event in events:
            await self.receive(event)

    async def receive(self, event: Inbound, channel: Channel | None = None) -> None:
        """Answer `event` in its turn (or at once, for /stop and strangers)."""
        channel = channel or self.adapters[event.platform].channel_for(event)
        if not self.access.is_allowed(event):
            reply = await asyncio.to_thread(self.access.turn_away, event)
            if reply:
                await quietly(channel.send(reply))
            await self._finish(event, channel)
            return
        if event.unsupported or not (event.text.strip() or event.files):
            reply = UNSUPPORTED.format(what=event.unsupported) if event.unsupported else TEXT_ONLY
            await quietly(channel.send(reply))
            await self._finish(event, channel)
            return
        command = None if event.files else Command.parse(event.text)  # a caption is no command
        chat = self._chat(event)
        if command is not None and command.name == "stop":
            await self._stop_chat(chat, channel)
            await self._finish(event, channel)
            return
        if self.stopping:
            await self._finish(event, channel, dropped=DROPPED_BY_SHUTDOWN)
            return
        chat.queue.put_nowait((event, command, channel))
        if chat.worker is None or chat.worker.done():
            chat.worker = asyncio.create_task(self._work(chat), name=f"chat {chat.key}")

    def answer_approval(self, event: Inbound, approval_id: str, choice: str) -> bool:
        """A button press on an approval; False when it is not this person's, or settled."""
        if choice not in ("once", "session", "deny") or not self.access.is_allowed(event):
            return False
        return self.approvals.respond(event.session_key, choice, approval_id)

    def _chat(self, event: Inbound) -> Chat:
        chat = self.chats.get(event.session_key)
        if chat is None:
            adapter = self.adapters[event.platform]
            entry = self.state.session(event.session_key)
            chat = Chat(
                event.session_key,
                event.platform,
                event.user_id,
                entry,
                self.services,
                adapter.can_ask_approval,
            )
            self.chats[chat.key] = chat
        return chat

    def holder_of(self, session_id: str) -> str | None:
        """The conversation of this gateway whose current session is `session_id`, if any."""
        for chat in self.chats.values():
            if chat.session_id == session_id:
                return chat.key
        key = self.state.key_of_session(session_id)
        return key if key not in self.chats else None

    # -- one conversation's worker -----------------------------------------------------------

    async def _work(self, chat: Chat) -> None:
        """Take the chat's messages in order until none is left (or shutdown begins)."""
        from gateway import commands

        while not self.stopping and not chat.queue.empty():
            event, command, channel = chat.queue.get_nowait()
            self.state.started(event)
            chat.begin(channel, lambda ref, event=event: self.state.answer_shown_in(event, ref))
            try:
                if command is None:
                    content = await self._content(event, channel)
                    if content is not None:
                        await self.answer(chat, content, channel)
                else:
                    await commands.run(self, chat, command, channel)
            except Exception as exc:  # a bug must not silence the chat or end its worker
                log.exception("message in %s failed", chat.key)
                await quietly(channel.send(FAILED.format(error=exc)))
            finally:
                untold = chat.take_stop_after()
                if untold:  # a stop came, but the work ended without saying so
                    await quietly(channel.send(untold))
                chat.end()
                self.state.save_session(chat.key, chat.entry())
                await self._finish(event, channel)

    async def _content(self, event: Inbound, channel: Channel) -> str | list[dict] | None:
        """What the turn sends the model: the text, and the message's files, fetched and
        stored now; None when a file was refused (the reply says why)."""
        if event.files:
            await quietly(channel.typing())  # a download can take a while
        adapter, store = self.adapters[event.platform], self.services.attachments
        try:
            return await files.turn_content(adapter, store, event)
        except files.FileRefused as refused:
            await quietly(channel.send(str(refused)))
            return None

    async def answer(self, chat: Chat, content: str | list[dict], channel: Channel) -> None:
        """One turn on `content` (text, or text and file parts): stream the answer, and
        never leave the person with silence."""
        chat.answer = answer = channel.answer()
        answer.placed = chat.placed
        typing = asyncio.create_task(_keep_typing(channel))
        started = time.monotonic()
        try:
            result = await asyncio.to_thread(chat.run_turn_blocking, content)
        except Exception as exc:  # the store or our own code failed: say so, keep going
            log.exception("turn in %s failed", chat.key)
            await answer.close(None, _failure_reply(exc))
            return
        finally:
            typing.cancel()
        response = result.final_response or ""
        log.info(
            "response ready: platform=%s chat=%s time=%.1fs api_calls=%s response=%d chars",
            chat.platform,
            chat.key,
            time.monotonic() - started,
            result.usage.api_calls,
            len(response),
        )
        reply = _normalize_empty_agent_response(result, response)
        if response:
            await answer.close(response, None)
        else:
            stopped = None if reply or not result.interrupted else chat.take_stop_notice()
            await answer.close(None, reply or stopped)

    async def _stop_chat(self, chat: Chat, channel: Channel) -> None:
        """Stop the running message and drop those waiting. How many were dropped follows
        the running message's stop notice, after the last of its answer, so "Stopped" is
        always said before "Dropped"."""
        dropped = await self._drop_queued(chat, DROPPED_BY_STOP)
        extra = f"Dropped {dropped} waiting message(s)." if dropped else ""
        if not chat.interrupt(STOPPED, extra):
            await quietly(channel.send(f"Nothing is running. {extra}".strip()))

    async def _drop_queued(self, chat: Chat, reason: str, *, keep_durable: bool = False) -> int:
        """Empty the chat's queue; messages a restart will answer stay in the inbox."""
        dropped = 0
        while not chat.queue.empty():
            event, _, channel = chat.queue.get_nowait()
            if keep_durable and self.adapters[event.platform].durable:
                continue
            dropped += 1
            await self._finish(event, channel, dropped=reason)
        return dropped

    async def _finish(self, event: Inbound, channel: Channel, dropped: str | None = None) -> None:
        self.state.done(event)
        if dropped:
            await quietly(channel.dropped(dropped))
        await quietly(channel.done())


def build_adapters(runner: GatewayRunner) -> list[Adapter]:
    """The enabled platforms' adapters, each built by its plugin from its settings section
    (so each platform's library is imported only if it is used)."""
    settings = runner.settings
    return [PLATFORMS[name].create(settings.section(name), runner) for name in settings.platforms]


async def _keep_typing(channel: Channel) -> None:
    """Show "typing…" from a moment into the turn: an answer that is there at once needs
    none."""
    await asyncio.sleep(TYPING_AFTER)
    while True:
        await quietly(channel.typing())
        await asyncio.sleep(TYPING_EVERY)


def run_gateway(settings: GatewaySettings) -> None:
    """Run until SIGINT or SIGTERM, then shut down gracefully (`hermes gateway`)."""
    import signal

    async def main() -> None:
        runner = GatewayRunner(settings)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, runner.stop)
        await runner.serve()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
