"""A fake Telegram Bot API server for tests and benchmarks.

The Telegram adapter talks to Telegram through ``python-telegram-bot`` (PTB) with long
polling. This fake is a real HTTP server on 127.0.0.1 that the unmodified library reaches
over real sockets, pointed at it with ``base_url``::

    with FakeTelegram() as tg:
        bot = telegram.Bot(tg.token, base_url=tg.base_url)
        tg.push_message(chat_id=42, user_id=42, text="hello")
        ...  # the code under test polls, answers
        tg.wait_until(lambda: tg.messages(42))
        assert tg.messages(42)[0].text == "Hi!"

It serves ``POST`` (or ``GET``) ``/bot<token>/<method>`` with parameters as JSON, as an
urlencoded or multipart form (PTB's encodings: strings as they are, everything else as JSON
text) or in the query string, and answers in the Bot API's envelope: ``{"ok": true,
"result": ...}`` or ``{"ok": false, "error_code": N, "description": ..., "parameters":
{"retry_after": N}}``. A wrong token gets 401, an unknown method 404. What each method does
and refuses is in telegram_api.py; HTML parse mode is checked by telegram_html.py.

Files people send are downloaded as from Telegram: ``getFile`` gives a ``file_path`` (and
refuses files over 20 MB), and ``GET /file/bot<token>/<file_path>`` serves the bytes; PTB
builds that address from ``base_file_url``::

    bot = telegram.Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url)

Tests play the users: ``push_message`` (with mentions found as Telegram finds them, or as
a reply), ``push_photo``, ``push_document``, ``push_voice``, ``push_sticker``, ``push_edit``
and ``push_callback`` queue updates for ``getUpdates``; ``messages``, ``chat_actions``,
``callback_answers``, ``commands``, ``calls``, ``downloads`` and ``delivered_update_ids``
show what the bot did; ``fail_next`` makes the next calls of a method fail (429 with
``retry_after`` by default). Stopping releases a waiting long poll at once. A fault inside
the fake is raised again when the ``with`` block exits.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import mimetypes
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.fakes.scripted_server import BackgroundFake, ScriptedHTTPServer, dump
from tests.fakes.telegram_api import ApiError, BotApi, Call, Failure, SentMessage, photo_sizes

__all__ = ["Call", "FakeTelegram", "SentMessage"]

_TEXT_PARAMS = frozenset(
    {
        "text",
        "parse_mode",
        "callback_query_id",
        "action",
        "url",
        "language_code",
        "inline_message_id",
        "business_connection_id",
        "message_effect_id",
    }
)
"""Parameters that are strings even when they look like JSON ("123", "true")."""


def _form_value(name: str, value: str) -> Any:
    """Decode a form field the way PTB encoded it: non-strings were sent as JSON text."""
    if name in _TEXT_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _multipart(content_type: str, body: bytes) -> dict[str, Any]:
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name and not part.get_filename():
            payload = part.get_payload(decode=True) or b""
            fields[name] = _form_value(name, payload.decode())
    return fields


class _TelegramHandler(BaseHTTPRequestHandler):
    """Serves one request and closes the connection, so no thread idles on keep-alive."""

    protocol_version = "HTTP/1.1"
    # A client that stalls mid-request cannot pin a handler thread (and so ``stop``) for long.
    timeout = 10
    server: ScriptedHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Stay silent: a line on stderr per request would bury the test output."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        fake: FakeTelegram = self.server.fake
        url = urlsplit(self.path)
        prefix, _, rest = url.path.lstrip("/").partition("/")
        if prefix == "file":
            self._serve_file(fake, rest)
            return
        method = rest.strip("/")
        if not prefix.startswith("bot") or not method or "/" in method:
            self._reply(404, ApiError(404, "Not Found").body())
            return
        if prefix.removeprefix("bot") != fake.token:
            self._reply(401, ApiError(401, "Unauthorized").body())
            return
        try:
            params = self._params(url.query)
        except ValueError as error:
            self._reply(400, ApiError(400, f"Bad Request: {error}").body())
            return
        self._reply(*fake.api.call(method, params))

    def _serve_file(self, fake: FakeTelegram, rest: str) -> None:
        """``/file/bot<token>/<file_path>``: a file's bytes, once getFile gave its path."""
        token, _, file_path = unquote(rest).partition("/")
        data = None
        if token == f"bot{fake.token}" and self.command == "GET":
            data = fake.api.download(file_path)
        if data is None:
            self._reply(404, ApiError(404, "Not Found").body())
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        self.wfile.write(data)

    def _params(self, query: str) -> dict[str, Any]:
        """Query-string parameters, overridden by those of the body in whatever encoding."""
        params = {name: _form_value(name, value) for name, value in parse_qsl(query)}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type") or ""
        kind = content_type.split(";", 1)[0].strip().lower()
        if not body:
            return params
        if kind == "application/json":
            try:
                decoded = json.loads(body)
            except ValueError:
                raise ValueError("can't parse JSON object") from None
            if not isinstance(decoded, dict):
                raise ValueError("JSON object expected")
            params.update(decoded)
        elif kind == "application/x-www-form-urlencoded":
            pairs = parse_qsl(body.decode(), keep_blank_values=True)
            params.update({name: _form_value(name, value) for name, value in pairs})
        elif kind == "multipart/form-data":
            params.update(_multipart(content_type, body))
        else:
            raise ValueError(f"unsupported Content-Type {content_type!r}")
        return params

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = dump(body)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        self.wfile.write(data)


class FakeTelegram(BackgroundFake):
    """A fake Bot API for one bot on a free port of 127.0.0.1; see the module docstring.

    Update ids count from 1 per fake and message ids from 1 per chat. The bot's own user is
    ``{"id": <the token's number>, "is_bot": true, "username": bot_username}``. All methods
    are thread-safe.
    """

    handler = _TelegramHandler

    def __init__(self, token: str = "123456:TEST-TOKEN", bot_username: str = "hermes_test_bot"):
        super().__init__()
        self.token = token
        self.api = BotApi(token, bot_username)
        """The bot's state and methods, served over HTTP."""

    # ----- lifecycle -----------------------------------------------------------------------

    def _release_waiters(self) -> None:
        self.api.close()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/bot``: PTB's ``base_url``, to which it appends the token."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """``http://127.0.0.1:<port>/file/bot``: PTB's ``base_file_url`` (token appended)."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    # ----- playing the users ---------------------------------------------------------------

    def push_message(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        chat_type: str = "private",
        username: str | None = None,
        entities: list[dict] | None = None,
        reply_to: int | None = None,
    ) -> int:
        """Queue an Update with a text Message from a user; returns its update_id.

        The message carries the entities Telegram finds in typed text (``@username``
        mentions, ``/commands``) unless ``entities`` gives them (a ``text_mention``, say).
        ``reply_to`` makes it a reply to that message of the chat (``ValueError`` if none).
        """
        return self.api.push_message(
            chat_id, user_id, text, chat_type, username, entities, reply_to
        )

    def push_photo(
        self,
        chat_id: int,
        user_id: int,
        data: bytes,
        *,
        caption: str | None = None,
        chat_type: str = "private",
        username: str | None = None,
        reply_to: int | None = None,
    ) -> int:
        """Queue a photo (``data``: an image PIL can read) with an optional caption, whose
        mentions and commands are found as in text; returns the update_id.

        The message's ``photo`` holds several PhotoSizes, smallest first, as Telegram sends
        them: smaller JPEG copies (longest side 90, 320, 800 where the photo is larger), then
        the photo itself, whose bytes are exactly ``data``.
        """
        sizes = [
            self.api.add_file(blob, "photos", ".jpg", width=width, height=height)
            for width, height, blob in photo_sizes(data)
        ]
        return self.api.push_content(
            chat_id, user_id, {"photo": sizes}, caption, chat_type, username, reply_to
        )

    def push_document(
        self,
        chat_id: int,
        user_id: int,
        data: bytes,
        *,
        file_name: str,
        mime_type: str | None = None,
        caption: str | None = None,
        chat_type: str = "private",
        username: str | None = None,
        reply_to: int | None = None,
    ) -> int:
        """Queue a file sent as a document; ``mime_type`` is guessed from the name when not
        given (and left out when unknown, as Telegram does)."""
        mime_type = mime_type or mimetypes.guess_type(file_name)[0]
        fields: dict[str, Any] = {"file_name": file_name}
        if mime_type:
            fields["mime_type"] = mime_type
        extension = "." + file_name.rpartition(".")[2] if "." in file_name else ""
        document = self.api.add_file(data, "documents", extension, **fields)
        return self.api.push_content(
            chat_id, user_id, {"document": document}, caption, chat_type, username, reply_to
        )

    def push_voice(
        self,
        chat_id: int,
        user_id: int,
        data: bytes,
        *,
        duration: int = 1,
        caption: str | None = None,
        chat_type: str = "private",
        username: str | None = None,
        reply_to: int | None = None,
    ) -> int:
        """Queue a voice message (OGG/Opus, as Telegram's apps record them)."""
        voice = self.api.add_file(data, "voice", ".oga", duration=duration, mime_type="audio/ogg")
        return self.api.push_content(
            chat_id, user_id, {"voice": voice}, caption, chat_type, username, reply_to
        )

    def push_sticker(
        self,
        chat_id: int,
        user_id: int,
        *,
        emoji: str = "🙂",
        data: bytes = b"RIFF\x1a\x00\x00\x00WEBPVP8 fake sticker",
        chat_type: str = "private",
        username: str | None = None,
        reply_to: int | None = None,
    ) -> int:
        """Queue a regular (static, 512×512 WebP) sticker; stickers have no caption."""
        sticker = self.api.add_file(
            data,
            "stickers",
            ".webp",
            type="regular",
            width=512,
            height=512,
            is_animated=False,
            is_video=False,
            emoji=emoji,
        )
        return self.api.push_content(
            chat_id, user_id, {"sticker": sticker}, None, chat_type, username, reply_to
        )

    def push_edit(self, chat_id: int, message_id: int, text: str) -> int:
        """Queue an Update with an ``edited_message``: the user changed the text of a message
        they sent. Delivered only when ``allowed_updates`` (if given) includes it."""
        return self.api.push_edit(chat_id, message_id, text)

    def message_id_of(self, update_id: int) -> int:
        """The message_id of the user's message pushed (or edited) in that update."""
        return self.api.message_id_of(update_id)

    def push_callback(self, chat_id: int, user_id: int, data: str, message_id: int) -> int:
        """Queue an Update with a CallbackQuery: the user pressed a button of a message.

        The query carries the message as it stands now; ``ValueError`` if the chat has no
        such message. Its id is what ``answerCallbackQuery`` must answer, once.
        """
        return self.api.push_callback(chat_id, user_id, data, message_id)

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        description: str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with ``status``.

        A 429 carries ``parameters.retry_after`` (unless None) and Telegram's "Too Many
        Requests: retry after N"; other statuses carry no parameters, since PTB treats any
        reply with retry_after as flood control. ``description`` replaces the default.
        """
        failure = Failure(status, retry_after, description)
        self.api.fail_next(method, failure, times)

    # ----- what the bot did ----------------------------------------------------------------

    def messages(self, chat_id: int) -> list[SentMessage]:
        """What the bot sent to the chat, in order; each with its current text and edits."""
        return self.api.messages(chat_id)

    def commands(self, scope: dict | None = None, language_code: str = "") -> list[dict]:
        """The bot's command menu as ``setMyCommands`` left it (the default scope unless
        ``scope`` names another), as ``{"command", "description"}`` items."""
        return self.api.commands(scope, language_code)

    def chat_actions(self, chat_id: int) -> list[str]:
        """The actions (``typing``, ...) the bot sent to the chat, in order."""
        return self.api.chat_actions(chat_id)

    def callback_answers(self) -> list[dict]:
        """The parameters of each accepted ``answerCallbackQuery``, in order."""
        return self.api.callback_answers()

    def calls(self, method: str | None = None) -> list[Call]:
        """Every API call received (or those of one method), failed ones included, in order."""
        return self.api.calls(method)

    def delivered_update_ids(self) -> list[int]:
        """Every update_id that getUpdates returned, in order, repeats included."""
        return self.api.delivered_update_ids()

    def downloads(self) -> list[str]:
        """The file_path of each file downloaded, in order."""
        return self.api.downloads()

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Poll ``predicate`` until it is true; AssertionError with the chats' state if not."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"condition not met within {timeout} s; the fake saw:\n{self.api.describe()}"
                )
            time.sleep(0.02)
