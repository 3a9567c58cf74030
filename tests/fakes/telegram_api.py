"""The behaviour of a Telegram bot account as the Bot API shows it, without the HTTP.

``BotApi`` holds one bot's world: the queue of updates waiting for ``getUpdates``, the
messages the bot sent to each chat (with their edits), chat actions, callback answers and
commands, and the files people sent (photos in several sizes, documents, voice, stickers),
which ``getFile`` describes and ``download`` serves. ``BotApi.call`` answers one Bot API
method call with the response body Telegram would send, and records the call.
``FakeTelegram`` (telegram_server.py) serves it over HTTP.

Every method is thread-safe: a long-polling ``getUpdates`` waits on the same condition that
pushes and ``close`` notify, so it returns as soon as there is something to deliver.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from tests.fakes.telegram_html import EntityError, ParsedText, parse_html, utf16_len
from tests.fakes.telegram_markup import MarkupError, check_reply_markup, inline_keyboard

__all__ = ["ApiError", "BotApi", "Call", "Failure", "SentMessage", "canonical_method"]

MAX_TEXT = 4096
MAX_DOWNLOAD = 20 * 1024 * 1024
"""The largest file ``getFile`` lets a bot download, as on Telegram's own servers."""
PHOTO_SIDES = (90, 320, 800)
"""The smaller sizes Telegram makes of a photo (longest side, pixels); the photo as sent
comes last."""
_PARSE_MODES = {"html": "HTML", "markdown": "Markdown", "markdownv2": "MarkdownV2"}
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_TYPED_RE = re.compile(
    r"(?<![\w@/])(?P<mention>@[A-Za-z0-9_]{5,32})(?!\w)"
    r"|(?:^|(?<=\s))(?P<bot_command>/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{5,32})?)(?![\w@])"
)
_METHODS = (
    "getMe",
    "getUpdates",
    "getFile",
    "sendMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "sendChatAction",
    "answerCallbackQuery",
    "deleteWebhook",
    "getWebhookInfo",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "close",
    "logOut",
)
_BY_LOWER = {name.lower(): name for name in _METHODS}
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


def canonical_method(name: str) -> str | None:
    """The method's documented spelling; Bot API method names are case-insensitive."""
    return _BY_LOWER.get(name.lower())


@dataclass
class SentMessage:
    """A message the bot sent, as it stands now."""

    message_id: int
    chat_id: int
    text: str
    """The current text, exactly as the bot sent it (with its HTML, if any)."""
    parse_mode: str | None
    reply_markup: dict | None
    edits: list[str] = field(default_factory=list)
    """The texts it had before, oldest first."""
    reply_to: int | None = None
    """The id of the message it replies to, if any."""


@dataclass(frozen=True)
class Call:
    """One API call received: the method, its decoded parameters, and when (monotonic)."""

    method: str
    params: dict
    at: float


class ApiError(Exception):
    """A call Telegram refuses; becomes ``{"ok": false, ...}`` with ``status``."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


@dataclass
class Failure:
    """How a call made to fail by ``fail_next`` is answered."""

    status: int
    retry_after: int | None
    description: str | None


@dataclass
class _File:
    """A file a person sent: its ids, its bytes and where ``getFile`` says it is."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str


def photo_sizes(data: bytes) -> list[tuple[int, int, bytes]]:
    """(width, height, JPEG bytes) of each size Telegram keeps of a photo, smallest first:
    a smaller copy for each of ``PHOTO_SIDES`` below the photo's longest side, then the photo
    itself, exactly as sent."""
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
        sizes = []
        for side in PHOTO_SIDES:
            if max(width, height) <= side:
                break
            smaller = image.convert("RGB")
            smaller.thumbnail((side, side))
            out = io.BytesIO()
            smaller.save(out, "JPEG", quality=80)
            sizes.append((smaller.width, smaller.height, out.getvalue()))
    return [*sizes, (width, height, data)]


@dataclass
class _Stored:
    """Any message in a chat: its Message object and, for the bot's own, what was sent."""

    obj: dict[str, Any]
    parsed: ParsedText
    sent: SentMessage | None = None


def _as_int(params: dict, name: str, missing: str) -> int:
    """An integer parameter; Telegram accepts numbers given as strings too."""
    value = params.get(name)
    if value is None or value == "":
        raise bad_request(missing)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"invalid {name} specified") from None


def typed_entities(text: str) -> list[dict]:
    """The entities Telegram finds in text a person typed: @username mentions and bot
    commands (``/cmd`` or ``/cmd@bot``, at the start or after a space), in UTF-16 units.
    Links, hashtags and the rest are not detected."""
    entities = []
    for match in _TYPED_RE.finditer(text):
        kind = "mention" if match.group("mention") else "bot_command"
        start = match.start(kind)
        entities.append(
            {
                "type": kind,
                "offset": utf16_len(text[:start]),
                "length": utf16_len(match.group(kind)),
            }
        )
    return entities


def _markup(params: dict) -> dict | None:
    try:
        return check_reply_markup(params.get("reply_markup"))
    except MarkupError as error:
        raise bad_request(str(error)) from None


def _optional_int(params: dict, name: str, default: int) -> int:
    if params.get(name) in (None, ""):
        return default
    return _as_int(params, name, f"{name} is empty")


class BotApi:
    """One bot's state and its Bot API methods; see the module docstring."""

    def __init__(self, token: str, bot_username: str) -> None:
        self.token = token
        self.bot_user = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": "Hermes Test",
            "username": bot_username,
        }
        self._cond = threading.Condition()
        self._closed = False
        self._update_ids = itertools.count(1)
        self._updates: list[dict] = []
        self.webhook_url = ""  # while set, getUpdates is refused, as Telegram does
        self._delivered: list[int] = []
        self._poll_generation = 0
        self._allowed_updates: list[str] = []
        self._message_ids: dict[int, itertools.count] = defaultdict(lambda: itertools.count(1))
        self._chats: dict[int, dict] = {}
        self._stored: dict[tuple[int, int], _Stored] = {}
        self._sent: dict[int, list[SentMessage]] = defaultdict(list)
        self._actions: dict[int, list[str]] = defaultdict(list)
        self._open_queries: set[str] = set()
        self._query_ids = itertools.count(1)
        self._answers: list[dict] = []
        self._commands: dict[str, list[dict]] = {}
        self._pushed: dict[int, int] = {}  # update id → the id of the user's message in it
        self._failures: dict[str, deque[Failure]] = defaultdict(deque)
        self._calls: list[Call] = []
        self._file_numbers = itertools.count(1)
        self._files: dict[str, _File] = {}  # file_id → the file
        self._paths: dict[str, _File] = {}  # file_path, once getFile gave it → the file
        self._downloads: list[str] = []

    # ----- what tests do -------------------------------------------------------------------

    def close(self) -> None:
        """Release every waiting long poll; later polls return at once."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def push_message(  # noqa: PLR0917 - the parts of a message a user can send
        self,
        chat_id: int,
        user_id: int,
        text: str,
        chat_type: str,
        username: str | None,
        entities: list[dict] | None = None,
        reply_to: int | None = None,
    ) -> int:
        with self._cond:
            return self._push(chat_id, user_id, text, chat_type, username, entities, reply_to)

    def push_content(  # noqa: PLR0917 - the parts of a message a user can send
        self,
        chat_id: int,
        user_id: int,
        content: dict[str, Any],
        caption: str | None,
        chat_type: str,
        username: str | None,
        reply_to: int | None = None,
    ) -> int:
        """Queue a message whose content is not text (``{"photo": [...]}``, a voice...)."""
        with self._cond:
            return self._push(
                chat_id, user_id, caption or "", chat_type, username, None, reply_to, content
            )

    def add_file(self, data: bytes, folder: str, extension: str, **fields: Any) -> dict:
        """Keep a file a person sends; the object describing it in their message (file_id,
        file_unique_id, file_size and ``fields``). Its path shows in ``folder``."""
        with self._cond:
            number = next(self._file_numbers)
            file = _File(
                file_id=f"{folder.rstrip('s')}-{number}-{self.bot_user['id']}",
                file_unique_id=f"U{number:06d}",
                data=bytes(data),
                file_path=f"{folder}/file_{number}{extension}",
            )
            self._files[file.file_id] = file
        return {
            "file_id": file.file_id,
            "file_unique_id": file.file_unique_id,
            "file_size": len(data),
            **fields,
        }

    def download(self, file_path: str) -> bytes | None:
        """The bytes at a path ``getFile`` gave; None for any other path."""
        with self._cond:
            file = self._paths.get(file_path)
            if file is None:
                return None
            self._downloads.append(file_path)
            return file.data

    def downloads(self) -> list[str]:
        with self._cond:
            return list(self._downloads)

    def _push(  # noqa: PLR0917 - one message, as push_message and push_content describe it
        self,
        chat_id: int,
        user_id: int,
        text: str,
        chat_type: str,
        username: str | None,
        entities: list[dict] | None,
        reply_to: int | None,
        content: dict[str, Any] | None = None,
    ) -> int:
        """Queue a user's message (lock held); its update id."""
        user = {"id": user_id, "is_bot": False, "first_name": username or f"User {user_id}"}
        if username:
            user["username"] = username
        chat = {"id": chat_id, "type": chat_type}
        chat.update(
            {"first_name": user["first_name"]}
            if chat_type == "private"
            else {"title": f"Chat {chat_id}"}
        )
        self._chats[chat_id] = chat
        replied = None
        if reply_to is not None:
            replied = self._stored_message(chat_id, reply_to).obj
            replied = {k: v for k, v in replied.items() if k != "reply_to_message"}
        parsed = ParsedText(text, typed_entities(text) if entities is None else entities)
        message = self._new_message(chat_id, user, parsed, reply_to=replied, content=content)
        update_id = self._queue({"message": message})
        self._pushed[update_id] = message["message_id"]
        return update_id

    def push_edit(self, chat_id: int, message_id: int, text: str) -> int:
        with self._cond:
            stored = self._stored_message(chat_id, message_id)
            if stored.sent is not None:
                raise ValueError("the bot's own messages are edited with editMessageText")
            if "text" not in stored.obj:
                raise ValueError("only the text of a text message is edited here")
            stored.parsed = ParsedText(text, typed_entities(text))
            message = self._rewrite(stored, None)
            update_id = self._queue({"edited_message": dict(message)})
            self._pushed[update_id] = message_id
            return update_id

    def message_id_of(self, update_id: int) -> int:
        with self._cond:
            return self._pushed[update_id]

    def commands(self, scope: dict | None, language_code: str) -> list[dict]:
        params = {"scope": scope, "language_code": language_code}
        with self._cond:
            return [dict(c) for c in self._commands.get(self._commands_key(params), [])]

    def push_callback(self, chat_id: int, user_id: int, data: str, message_id: int) -> int:
        with self._cond:
            stored = self._stored_message(chat_id, message_id)
            query_id = str(next(self._query_ids))
            self._open_queries.add(query_id)
            query = {
                "id": query_id,
                "from": {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"},
                "message": stored.obj,
                "chat_instance": str(chat_id),
                "data": data,
            }
            return self._queue({"callback_query": query})

    def fail_next(self, method: str, failure: Failure, times: int) -> None:
        name = canonical_method(method)
        if name is None:
            raise ValueError(f"the fake does not serve {method!r}")
        with self._cond:
            self._failures[name].extend([failure] * times)

    def messages(self, chat_id: int) -> list[SentMessage]:
        with self._cond:
            return list(self._sent.get(chat_id, []))

    def chat_actions(self, chat_id: int) -> list[str]:
        with self._cond:
            return list(self._actions.get(chat_id, []))

    def callback_answers(self) -> list[dict]:
        with self._cond:
            return [dict(answer) for answer in self._answers]

    def calls(self, method: str | None) -> list[Call]:
        wanted = None if method is None else canonical_method(method) or method
        with self._cond:
            return [call for call in self._calls if wanted is None or call.method == wanted]

    def delivered_update_ids(self) -> list[int]:
        with self._cond:
            return list(self._delivered)

    def describe(self) -> str:
        """The bot's chats and recent calls, for a failed ``wait_until``."""
        with self._cond:
            lines = []
            for chat_id, sent in self._sent.items():
                lines.append(f"chat {chat_id}: actions {self._actions.get(chat_id, [])}")
                lines += [f"  #{m.message_id} {m.text!r} (edits: {m.edits})" for m in sent]
            pending = [update["update_id"] for update in self._updates]
            lines.append(f"unconfirmed updates: {pending}")
            lines.append("last calls: " + ", ".join(c.method for c in self._calls[-15:]))
            return "\n".join(lines)

    # ----- the Bot API ---------------------------------------------------------------------

    def call(self, method: str, params: dict) -> tuple[int, dict[str, Any]]:
        """Answer one call: (HTTP status, response body), recording the call first."""
        name = canonical_method(method)
        with self._cond:
            self._calls.append(Call(name or method, params, time.monotonic()))
            if name is None:
                return 404, ApiError(404, "Not Found").body()
            failure = self._failures[name].popleft() if self._failures[name] else None
        try:
            if failure is not None:
                raise self._failure_error(failure)
            result = getattr(self, f"_api_{name}")(params)
        except ApiError as error:
            return error.status, error.body()
        return 200, {"ok": True, "result": result}

    @staticmethod
    def _failure_error(failure: Failure) -> ApiError:
        status = failure.status
        # PTB raises RetryAfter for any reply carrying retry_after; Telegram sends it with 429.
        retry_after = failure.retry_after if status == 429 else None
        default = (
            f"Too Many Requests: retry after {retry_after}"
            if status == 429
            else _DEFAULT_DESCRIPTIONS.get(status, "Error")
        )
        return ApiError(status, failure.description or default, retry_after)

    def _api_getMe(self, params: dict) -> dict:
        return {**self.bot_user, "can_join_groups": True, "supports_inline_queries": False}

    def _api_getFile(self, params: dict) -> dict:
        """A file's description with the path to download it from, valid from now on.
        Files over 20 MB are refused, as Telegram refuses them to bots."""
        file_id = params.get("file_id")
        if not file_id:
            raise bad_request("file_id not specified")
        with self._cond:
            file = self._files.get(str(file_id))
            if file is None:
                raise bad_request("invalid file_id")
            if len(file.data) > MAX_DOWNLOAD:
                raise bad_request("file is too big")
            self._paths[file.file_path] = file
        return {
            "file_id": file.file_id,
            "file_unique_id": file.file_unique_id,
            "file_size": len(file.data),
            "file_path": file.file_path,
        }

    def _api_getUpdates(self, params: dict) -> list[dict]:
        """Confirm updates below ``offset``, then wait up to ``timeout`` for one to deliver.

        A newer getUpdates ends a waiting one with 409, as Telegram does when two pollers
        share a token.
        """
        if self.webhook_url:
            raise ApiError(409, WEBHOOK_CONFLICT)
        offset = _optional_int(params, "offset", 0)
        limit = min(max(_optional_int(params, "limit", 100), 1), 100)
        deadline = time.monotonic() + _optional_int(params, "timeout", 0)
        with self._cond:
            self._poll_generation += 1
            generation = self._poll_generation
            self._cond.notify_all()
            if params.get("allowed_updates") is not None:
                self._allowed_updates = list(params["allowed_updates"])
            self._confirm(offset)
            while not self._deliverable() and not self._closed:
                if generation != self._poll_generation:
                    raise ApiError(409, _DEFAULT_DESCRIPTIONS[409])
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            batch = self._deliverable()[:limit]
            self._delivered.extend(update["update_id"] for update in batch)
            return batch

    def _confirm(self, offset: int) -> None:
        if offset < 0:
            self._updates = self._updates[offset:]
        elif offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]

    def _deliverable(self) -> list[dict]:
        """Unconfirmed updates; with allowed_updates set, the others are dropped for good."""
        if self._allowed_updates:
            allowed = set(self._allowed_updates)
            self._updates = [u for u in self._updates if allowed.intersection(u)]
        return self._updates

    def _api_sendMessage(self, params: dict) -> dict:
        chat_id = self._chat_id(params)
        text, parse_mode, parsed = self._text(params)
        markup = _markup(params)
        reply_to = self._reply_to(chat_id, params)
        with self._cond:
            message = self._new_message(chat_id, self.bot_user, parsed, markup, reply_to)
            sent = SentMessage(message["message_id"], chat_id, text, parse_mode, markup)
            sent.reply_to = reply_to["message_id"] if reply_to else None
            self._stored[(chat_id, sent.message_id)].sent = sent
            self._sent[chat_id].append(sent)
            return message

    def _api_editMessageText(self, params: dict) -> dict:
        text, parse_mode, parsed = self._text(params)
        markup = _markup(params)
        with self._cond:
            stored, sent = self._editable(params)
            unchanged = (parsed.text, parsed.entities) == (
                stored.parsed.text,
                stored.parsed.entities,
            )
            if unchanged and inline_keyboard(markup) == inline_keyboard(sent.reply_markup):
                raise bad_request(_NOT_MODIFIED)
            sent.edits.append(sent.text)
            sent.text, sent.parse_mode, sent.reply_markup = text, parse_mode, markup
            stored.parsed = parsed
            return self._rewrite(stored, markup)

    def _api_editMessageReplyMarkup(self, params: dict) -> dict:
        markup = _markup(params)
        with self._cond:
            stored, sent = self._editable(params)
            if inline_keyboard(markup) == inline_keyboard(sent.reply_markup):
                raise bad_request(_NOT_MODIFIED)
            sent.reply_markup = markup
            return self._rewrite(stored, markup)

    def _api_sendChatAction(self, params: dict) -> bool:
        chat_id = self._chat_id(params)
        action = params.get("action")
        if action not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        with self._cond:
            self._actions[chat_id].append(action)
        return True

    def _api_answerCallbackQuery(self, params: dict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        with self._cond:
            if query_id not in self._open_queries:
                raise bad_request(
                    "query is too old and response timeout expired or query ID is invalid"
                )
            self._open_queries.discard(query_id)
            self._answers.append(dict(params))
        return True

    def _api_deleteWebhook(self, params: dict) -> bool:
        with self._cond:
            self.webhook_url = ""
            if params.get("drop_pending_updates") in (True, "true", "True"):
                self._updates.clear()
        return True

    def _api_getWebhookInfo(self, params: dict) -> dict:
        with self._cond:
            pending = len(self._updates)
            url = self.webhook_url
        return {"url": url, "has_custom_certificate": False, "pending_update_count": pending}

    def _api_setMyCommands(self, params: dict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("parameter commands is required")
        for command in commands:
            name = command.get("command") if isinstance(command, dict) else None
            if not isinstance(name, str) or not _COMMAND_RE.fullmatch(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description") or "")) <= 256:
                raise bad_request("command description is empty")
        with self._cond:
            self._commands[self._commands_key(params)] = [dict(c) for c in commands]
        return True

    def _api_getMyCommands(self, params: dict) -> list[dict]:
        with self._cond:
            return list(self._commands.get(self._commands_key(params), []))

    def _api_deleteMyCommands(self, params: dict) -> bool:
        with self._cond:
            self._commands.pop(self._commands_key(params), None)
        return True

    def _api_close(self, params: dict) -> bool:
        return True

    def _api_logOut(self, params: dict) -> bool:
        return True

    # ----- helpers, called with or without the lock as marked -------------------------------

    def _queue(self, update: dict) -> int:
        """Add an update (lock held) and wake the long poll."""
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, **update})
        self._cond.notify_all()
        return update_id

    def _new_message(
        self,
        chat_id: int,
        sender: dict,
        parsed: ParsedText,
        markup: dict | None = None,
        reply_to: dict | None = None,
        *,
        content: dict[str, Any] | None = None,
    ) -> dict:
        """Store a new message in a chat (lock held) and return its Message object. With
        ``content`` (a photo, a document...), the text is its caption."""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids[chat_id]),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": sender,
        }
        if content is None:
            message["text"] = parsed.text
            if parsed.entities:
                message["entities"] = parsed.entities
        else:
            message.update(content)
            if parsed.text:
                message["caption"] = parsed.text
            if parsed.entities:
                message["caption_entities"] = parsed.entities
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        if inline_keyboard(markup):
            message["reply_markup"] = {"inline_keyboard": inline_keyboard(markup)}
        self._stored[(chat_id, message["message_id"])] = _Stored(message, parsed)
        return message

    def _stored_message(self, chat_id: int, message_id: int) -> _Stored:
        """Any message of the chat (lock held); ValueError when there is none."""
        stored = self._stored.get((chat_id, message_id))
        if stored is None:
            raise ValueError(f"chat {chat_id} has no message {message_id}")
        return stored

    def _rewrite(self, stored: _Stored, markup: dict | None) -> dict:
        """Apply an edit to a stored Message object (lock held) and return it."""
        obj = {k: v for k, v in stored.obj.items() if k not in ("entities", "reply_markup")}
        obj.update(text=stored.parsed.text, edit_date=int(time.time()))
        if stored.parsed.entities:
            obj["entities"] = stored.parsed.entities
        if inline_keyboard(markup):
            obj["reply_markup"] = {"inline_keyboard": inline_keyboard(markup)}
        stored.obj = obj
        return obj

    def _chat(self, chat_id: int) -> dict:
        """The chat as pushes described it; otherwise private for users, a group if negative."""
        if chat_id in self._chats:
            return self._chats[chat_id]
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
        return {"id": chat_id, "type": "group", "title": f"Chat {chat_id}"}

    @staticmethod
    def _chat_id(params: dict) -> int:
        chat_id = params.get("chat_id")
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            raise bad_request("chat not found")
        return _as_int(params, "chat_id", "chat_id is empty")

    @staticmethod
    def _text(params: dict) -> tuple[str, str | None, ParsedText]:
        """(text as sent, parse mode, what Telegram makes of it), checked like Telegram."""
        text = params.get("text")
        text = "" if text is None else str(text)
        mode = params.get("parse_mode") or None
        if mode is not None and str(mode).lower() not in _PARSE_MODES:
            raise bad_request(f"unsupported parse_mode {mode!r}")
        parsed = ParsedText(text)
        if mode is not None and str(mode).lower() == "html":
            try:
                parsed = parse_html(text)
            except EntityError as error:
                raise bad_request(f"can't parse entities: {error}") from None
        if not parsed.text.strip():
            raise bad_request("message text is empty")
        if len(parsed.text) > MAX_TEXT:
            raise bad_request("message is too long")
        return text, mode, parsed

    def _reply_to(self, chat_id: int, params: dict) -> dict | None:
        """The replied-to Message object for ``reply_to_message_id`` or ``reply_parameters``."""
        reply = params.get("reply_parameters")
        reply = reply if isinstance(reply, dict) else {}
        if reply.get("message_id") is not None:
            message_id = _as_int(reply, "message_id", "message to be replied not found")
        elif params.get("reply_to_message_id") is not None:
            message_id = _as_int(params, "reply_to_message_id", "message to be replied not found")
        else:
            return None
        lenient = reply.get(
            "allow_sending_without_reply", params.get("allow_sending_without_reply")
        )
        with self._cond:
            stored = self._stored.get((chat_id, message_id))
        if stored is None:
            if lenient in (True, "true"):
                return None
            raise bad_request("message to be replied not found")
        return {k: v for k, v in stored.obj.items() if k != "reply_to_message"}

    def _editable(self, params: dict) -> tuple[_Stored, SentMessage]:
        """The bot's own message that ``chat_id`` and ``message_id`` name (lock held)."""
        if params.get("inline_message_id"):
            raise bad_request("message to edit not found")
        chat_id = self._chat_id(params)
        message_id = _as_int(params, "message_id", "message identifier is not specified")
        stored = self._stored.get((chat_id, message_id))
        if stored is None:
            raise bad_request("message to edit not found")
        if stored.sent is None:
            raise bad_request("message can't be edited")
        return stored, stored.sent

    @staticmethod
    def _commands_key(params: dict) -> str:
        """Commands are kept per scope and language, as Telegram keeps them."""
        scope = params.get("scope") or {"type": "default"}
        return json.dumps([scope, params.get("language_code") or ""], sort_keys=True)
