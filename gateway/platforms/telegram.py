"""Telegram, through python-telegram-bot's `Bot` with long polling.

- **Nothing lost, nothing twice.** Each batch from `getUpdates` is written to the gateway's
  inbox, with the last `update_id`, before the next poll confirms it to Telegram; after a
  restart polling resumes from that id and the inbox's unanswered messages are answered.
- **Streaming.** An answer appears after a second of writing and is then edited in place,
  each message at most once a second; past 4,096 characters it goes on in a new message
  (`telegram_format`). Markdown is sent as Telegram's HTML, everything else escaped; should
  Telegram refuse the HTML anyway, the text is sent plain.
- **Approvals** are a message with inline buttons; the press answers the waiting turn.
- **Flood control:** a `429` is retried after the `retry_after` Telegram asks for.
- **Typing:** "typing…" is shown while a turn works.
- **Groups:** only messages addressed to the bot are taken (`telegram_inbound`); the answer,
  its notices and command replies are sent as replies to the message that asked, so a busy
  group sees who is answered. Private chats need no such threading.
- **Menu:** the commands are registered with `setMyCommands` at start, for Telegram's "/"
  menu; should Telegram refuse them, that is logged and the gateway runs on.
- **Files:** photos and documents are downloaded (`getFile`, then the file's address) when
  their turn comes; Telegram lets bots download files of up to 20 MB.

`gateway.telegram.base_url` points the bot at another Bot API server (a local one, or a fake
in tests); files are downloaded from the same server's `/file/bot<token>/...`.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import (
    BadRequest,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBDeprecationWarning

from gateway.commands import LISTED
from gateway.events import DM, GROUP, Inbound, InboundFile
from gateway.platforms.base import Adapter, Answer, Channel, FileUnavailable
from gateway.platforms.telegram_format import Chunk, escape, split_message
from gateway.platforms.telegram_inbound import inbound
from hermes_agent.errors import ConfigError, PayloadTooLarge
from hermes_agent.settings import TelegramSettings

if TYPE_CHECKING:
    from gateway.run import GatewayRunner

log = logging.getLogger(__name__)

STREAM_INTERVAL = 1.0  # seconds between two edits of a message, and before the first send
CALL_ATTEMPTS = 5
MAX_BACKOFF = 30.0
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
APPROVAL_PREFIX = "ap"
CHOICES = {
    "once": ("Allow once", "✅ Allowed once"),
    "session": ("Allow for this chat", "✅ Allowed for this conversation"),
    "deny": ("Deny", "❌ Denied"),
}
NOT_YOURS = "This question is not for you, or it was already settled."
MAX_DOWNLOAD = 20 * 1024 * 1024  # the Bot API gives bots files of up to 20 MB
DOWNLOAD_TIMEOUT = 120.0  # seconds to read one file


def file_url(base_url: str) -> str:
    """Where the Bot API server at `base_url` serves files: `https://api.telegram.org/bot`
    → `https://api.telegram.org/file/bot` (so for a local server or a fake)."""
    root, found, rest = base_url.rpartition("/bot")
    return f"{root}/file/bot{rest}" if found else base_url.rstrip("/") + "/file/bot"


class TelegramAdapter(Adapter):
    name = "telegram"
    can_ask_approval = True
    durable = True
    max_file_bytes = MAX_DOWNLOAD

    def __init__(self, settings: TelegramSettings, runner: GatewayRunner) -> None:
        self.settings = settings
        self.runner = runner
        self.bot = Bot(
            settings.token or "",
            base_url=settings.base_url,
            base_file_url=file_url(settings.base_url),
        )
        self.approval_messages: dict[str, tuple[int, int]] = {}
        self._poller: asyncio.Task | None = None

    async def start(self) -> None:
        try:
            await self.bot.initialize()  # getMe: a wrong token fails here, at start-up
        except InvalidToken:
            raise ConfigError("Telegram rejected the bot token (gateway.telegram.token)") from None
        except TelegramError as exc:
            where = self.settings.base_url
            raise ConfigError(f"could not reach the Telegram Bot API at {where}: {exc}") from None
        await self._remove_webhook()
        await self._register_commands()
        log.warning("telegram: polling as @%s", self.bot.username)
        self._poller = asyncio.create_task(self._poll(), name="telegram poller")

    async def _remove_webhook(self) -> None:
        """A webhook set on the bot (by another deployment) makes Telegram refuse every
        getUpdates; polling is how this gateway receives, so the webhook goes. Messages
        waiting for it are kept and arrive by polling."""
        try:
            info = await self.bot.get_webhook_info()
            if info.url:
                await self.bot.delete_webhook(drop_pending_updates=False)
                log.warning("telegram: removed the webhook %s so that polling can work", info.url)
        except TelegramError as exc:
            log.warning("telegram: could not check for a webhook (%s); polling anyway", exc)

    async def _register_commands(self) -> None:
        """List the commands in Telegram's "/" menu; a refusal costs only the menu."""
        menu = [(item.name, item.description) for item in LISTED]
        try:
            await self.call(self.bot.set_my_commands, commands=menu)
        except TelegramError as exc:
            log.warning("telegram: could not register the command menu (%s); going on", exc)

    async def stop_receiving(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)

    async def close(self) -> None:
        await self.bot.shutdown()

    def channel_for(self, event: Inbound) -> Channel:
        """In a group, everything said about the message replies to it."""
        threaded = event.chat_type == GROUP and event.message_id
        return TelegramChannel(
            self, int(event.chat_id), int(event.message_id) if threaded else None
        )

    # -- receiving ---------------------------------------------------------------------------

    async def _poll(self) -> None:
        cursor = self.runner.state.cursor(self.name)
        offset = cursor + 1 if cursor is not None else None
        backoff = 1.0
        while True:
            try:
                updates = await self.call(
                    self.bot.get_updates,
                    offset=offset,
                    timeout=self.settings.poll_timeout,
                    allowed_updates=ALLOWED_UPDATES,
                )
            except TelegramError as exc:
                log.warning("telegram: polling failed (%s); again in %.0f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            backoff = 1.0
            if not updates:
                continue
            me, mode = self.bot.bot, self.settings.group_mode
            messages = [e for e in (inbound(u, me, mode) for u in updates) if e is not None]
            offset = updates[-1].update_id + 1
            await self.runner.accept(self.name, offset - 1, messages)
            for update in updates:
                if update.callback_query is not None:
                    await self._on_press(update)

    async def _on_press(self, update: Update) -> None:
        """A button press: settle the approval it belongs to, and answer the press."""
        query = update.callback_query
        kind, _, rest = (query.data or "").partition(":")
        approval_id, _, choice = rest.partition(":")
        message = query.message
        settled = False
        if kind == APPROVAL_PREFIX and message is not None:
            event = Inbound(
                self.name,
                str(message.chat.id),
                str(query.from_user.id),
                "",
                DM if message.chat.type == "private" else GROUP,
            )
            settled = self.runner.answer_approval(event, approval_id, choice)
        note = CHOICES[choice][1] if settled else NOT_YOURS
        try:
            await self.call(self.bot.answer_callback_query, callback_query_id=query.id, text=note)
        except TelegramError as exc:
            log.warning("telegram: could not answer a button press: %s", exc)

    async def download(self, file: InboundFile) -> bytes:
        """A file's bytes: getFile for its address, then the download itself."""
        try:
            found = await self.call(self.bot.get_file, file_id=file.file_id)
            data = await self.call(found.download_as_bytearray, read_timeout=DOWNLOAD_TIMEOUT)
        except BadRequest as exc:
            if "too big" in str(exc).lower():
                raise PayloadTooLarge(str(exc)) from None
            raise FileUnavailable(f"Telegram refused it ({exc})") from None
        except (TelegramError, RuntimeError) as exc:  # RuntimeError: no file_path given
            raise FileUnavailable(f"Telegram could not be reached ({exc})") from None
        return bytes(data)

    # -- sending -----------------------------------------------------------------------------

    async def call(self, method: Callable[..., Awaitable[Any]], **params: Any) -> Any:
        """One Bot API call, retried after flood control (429 `retry_after`) and after
        connection failures; a timed-out send is not retried, so it is never sent twice."""
        for attempt in range(1, CALL_ATTEMPTS + 1):
            try:
                return await method(**params)
            except RetryAfter as exc:
                wait = _retry_after(exc)
                log.warning("telegram: flood control, retrying in %.1f s", wait)
            except (BadRequest, TimedOut):
                raise
            except NetworkError as exc:
                if attempt == CALL_ATTEMPTS:
                    raise
                wait = min(2.0**attempt, MAX_BACKOFF)
                log.warning("telegram: %s; retrying in %.0f s", exc, wait)
            await asyncio.sleep(wait)
        raise TimedOut(f"gave up after {CALL_ATTEMPTS} attempts")

    async def send_text(self, chat_id: int, markdown: str, reply_to: int | None = None) -> None:
        """Send Markdown in as many messages as it takes, the first replying to `reply_to`."""
        for index, chunk in enumerate(split_message(markdown)):
            await self.send_chunk(chat_id, chunk, reply_to=reply_to if index == 0 else None)

    async def send_chunk(
        self, chat_id: int, chunk: Chunk, markup: Any = None, reply_to: int | None = None
    ) -> Any:
        """Send one chunk, as a reply to message `reply_to` when given (and it still exists)."""
        params: dict[str, Any] = {"chat_id": chat_id, "reply_markup": markup}
        if reply_to is not None:
            params["reply_parameters"] = ReplyParameters(reply_to, allow_sending_without_reply=True)
        try:
            return await self.call(
                self.bot.send_message, text=chunk.html, parse_mode=ParseMode.HTML, **params
            )
        except BadRequest as exc:
            if "can't parse entities" not in str(exc).lower():
                raise
            log.warning("telegram refused our HTML (%s); sending plain text", exc)
            return await self.call(self.bot.send_message, text=chunk.plain, **params)

    async def edit_chunk(self, chat_id: int, message_id: int, chunk: Chunk) -> None:
        params = {"chat_id": chat_id, "message_id": message_id}
        try:
            await self.call(
                self.bot.edit_message_text, text=chunk.html, parse_mode=ParseMode.HTML, **params
            )
        except BadRequest as exc:
            reason = str(exc).lower()
            if "not modified" in reason:
                return
            if "can't parse entities" not in reason:
                raise
            await self.call(self.bot.edit_message_text, text=chunk.plain, **params)


class TelegramChannel(Channel):
    """One chat; with `reply_to`, what is said replies to that message (the one asking)."""

    def __init__(self, adapter: TelegramAdapter, chat_id: int, reply_to: int | None = None):
        self.adapter = adapter
        self.chat_id = chat_id
        self.reply_to = reply_to

    async def send(self, text: str) -> None:
        await self.adapter.send_text(self.chat_id, text, self.reply_to)

    def answer(self) -> Answer:
        return StreamedAnswer(self.adapter, self.chat_id, self.reply_to)

    async def cut_off(self, message_ref: str, notice: str) -> None:
        """The notice as a reply to the cut-off answer, so it reads as marked, not final."""
        for chunk in split_message(notice):
            await self.adapter.send_chunk(self.chat_id, chunk, reply_to=int(message_ref))

    async def typing(self) -> None:
        send = self.adapter.bot.send_chat_action
        await self.adapter.call(send, chat_id=self.chat_id, action=ChatAction.TYPING)

    async def ask_approval(self, item: Any) -> None:
        buttons = [
            InlineKeyboardButton(label, callback_data=f"{APPROVAL_PREFIX}:{item.approval_id}:{c}")
            for c, (label, _) in CHOICES.items()
        ]
        markup = InlineKeyboardMarkup([buttons[:2], buttons[2:]])
        text = (
            "⚠️ <b>Approval needed.</b> Hermes wants to run:\n"
            f"<pre>{escape(item.command)}</pre>\n{escape(item.reason)}"
        )
        chunk = Chunk(text, text)
        message = await self.adapter.send_chunk(self.chat_id, chunk, markup, self.reply_to)
        self.adapter.approval_messages[item.approval_id] = (self.chat_id, message.message_id)

    async def approval_closed(self, item: Any, choice: str) -> None:
        where = self.adapter.approval_messages.pop(item.approval_id, None)
        if where is None:
            return
        outcome = CHOICES.get(choice, CHOICES["deny"])[1]
        text = f"{outcome}:\n<pre>{escape(item.command)}</pre>"
        await self.adapter.edit_chunk(*where, Chunk(text, text))


class StreamedAnswer(Answer):
    """An answer shown as it is written: the first message after a second, then edits.

    Pushes are at least `STREAM_INTERVAL` apart and edit each message at most once, so no
    message is edited more than once a second. A lock keeps a push from being cut off
    halfway: a message sent but not recorded would be sent again. With `reply_to`, the
    answer's first message and the notice reply to that message.
    """

    def __init__(self, adapter: TelegramAdapter, chat_id: int, reply_to: int | None = None):
        self.adapter = adapter
        self.chat_id = chat_id
        self.reply_to = reply_to
        self.text = ""
        self.sent: list[tuple[int, str]] = []  # (message id, HTML it shows)
        self.last_push = 0.0
        self._lock = asyncio.Lock()
        self._flusher: asyncio.Task | None = None
        self._closed = False

    def feed(self, delta: str) -> None:
        self.text += delta
        if self._flusher is None and not self._closed:
            self._flusher = asyncio.create_task(self._flush_loop())

    def paragraph(self) -> None:
        """Text written before a tool call and the text after it are separate paragraphs."""
        if self.text and not self.text.endswith("\n\n"):
            self.text = self.text.rstrip("\n") + "\n\n"

    async def _flush_loop(self) -> None:
        await asyncio.sleep(STREAM_INTERVAL)
        while True:
            async with self._lock:
                if self._closed:
                    return
                await self._push(self.text)
            await asyncio.sleep(STREAM_INTERVAL)

    async def close(self, final: str | None, notice: str | None) -> None:
        async with self._lock:
            self._closed = True
            if self._flusher is not None:
                self._flusher.cancel()
            streamed = final is None or self.text.rstrip().endswith(final.strip())
            text = self.text if streamed else final
            if text.strip():
                if self.sent:
                    await asyncio.sleep(self.last_push + STREAM_INTERVAL - time.monotonic())
                await self._push(text)
        if notice:
            await self.adapter.send_text(self.chat_id, notice, self.reply_to)

    async def _push(self, text: str) -> None:
        if not text.strip():
            return
        chunks = split_message(text)
        for index, chunk in enumerate(chunks):
            if index < len(self.sent):
                message_id, shown = self.sent[index]
                if shown != chunk.html:
                    await self.adapter.edit_chunk(self.chat_id, message_id, chunk)
                    self.sent[index] = (message_id, chunk.html)
            else:
                reply_to = self.reply_to if index == 0 else None
                message = await self.adapter.send_chunk(self.chat_id, chunk, reply_to=reply_to)
                self.sent.append((message.message_id, chunk.html))
                if self.placed is not None:
                    self.placed(str(message.message_id))
        for index in range(len(chunks), len(self.sent)):  # the answer became shorter
            message_id, _ = self.sent[index]
            await self.adapter.edit_chunk(self.chat_id, message_id, Chunk("…", "…"))
        del self.sent[len(chunks) :]
        self.last_push = time.monotonic()


def _retry_after(exc: RetryAfter) -> float:
    """Seconds to wait; PTB is moving this attribute from int to timedelta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
