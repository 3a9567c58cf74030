"""The fake Telegram Bot API, driven by python-telegram-bot and by raw HTTP.

The Telegram adapter's tests trust this fake to behave like Telegram where it matters: long
polling and offsets, the formatting checks that refuse bad HTML, edits, callback queries and
flood control. These tests pin that behaviour through the real client library.
"""

from __future__ import annotations

import asyncio
import datetime
import io
import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
import telegram
from PIL import Image
from telegram.error import BadRequest, InvalidToken, RetryAfter
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from tests.fakes.telegram_server import FakeTelegram


@pytest.fixture
def tg():
    with FakeTelegram() as fake:
        yield fake


def run_bot(fake: FakeTelegram, steps) -> Any:
    """Run ``steps(bot)`` with a real PTB Bot pointed at the fake."""

    async def main() -> Any:
        bot = telegram.Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)
        async with bot:
            return await steps(bot)

    return asyncio.run(main())


def raw(
    fake: FakeTelegram,
    method: str,
    body: bytes | dict | None = None,
    *,
    content_type: str = "application/json",
    token: str | None = None,
    timeout: float = 10,
) -> tuple[int, dict]:
    """POST to the fake without PTB; (HTTP status, decoded JSON body)."""
    base = fake.base_url.removesuffix("/bot")
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = urllib.request.Request(
        f"{base}/bot{token or fake.token}/{method}",
        data=data if data is not None else b"",
        headers={"Content-Type": content_type},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def seconds(value: int | datetime.timedelta) -> float:
    return value.total_seconds() if isinstance(value, datetime.timedelta) else float(value)


# ----- identity and updates ------------------------------------------------------------------


def test_get_me_returns_the_bot_user_named_by_the_token(tg: FakeTelegram) -> None:
    me = run_bot(tg, lambda bot: bot.get_me())
    assert (me.id, me.is_bot, me.username) == (123456, True, "hermes_test_bot")
    # PTB's Bot asks getMe once as it starts, and once more for the call above.
    assert [call.method for call in tg.calls()] == ["getMe", "getMe"]


def test_pushed_message_is_returned_by_get_updates(tg: FakeTelegram) -> None:
    first = tg.push_message(42, 7, "hello", username="ann")
    second = tg.push_message(-100, 7, "in a group", chat_type="supergroup")
    updates = run_bot(tg, lambda bot: bot.get_updates(timeout=0))

    assert [u.update_id for u in updates] == [first, second] == [1, 2]
    message = updates[0].message
    assert (message.chat.id, message.chat.type, message.text) == (42, "private", "hello")
    assert (message.from_user.id, message.from_user.username) == (7, "ann")
    assert (updates[1].message.chat.type, updates[1].message.message_id) == ("supergroup", 1)
    assert tg.delivered_update_ids() == [1, 2]


def test_offset_confirms_updates_so_they_are_never_delivered_again(tg: FakeTelegram) -> None:
    for n in range(3):
        tg.push_message(42, 7, f"m{n}")

    async def steps(bot: telegram.Bot) -> list[list[int]]:
        seen = [[u.update_id for u in await bot.get_updates(timeout=0)]]
        seen.append([u.update_id for u in await bot.get_updates(offset=2, timeout=0)])
        seen.append([u.update_id for u in await bot.get_updates(timeout=0)])
        seen.append([u.update_id for u in await bot.get_updates(offset=4, timeout=0)])
        return seen

    assert run_bot(tg, steps) == [[1, 2, 3], [2, 3], [2, 3], []]
    assert tg.delivered_update_ids() == [1, 2, 3, 2, 3, 2, 3]


def test_a_typed_mention_and_command_arrive_as_entities_in_utf16_units(tg: FakeTelegram) -> None:
    text = "héllo 👋 @Hermes_Test_Bot and @ab, /help@hermes_test_bot please"
    tg.push_message(-100, 7, text, chat_type="group")
    [update] = run_bot(tg, lambda bot: bot.get_updates(timeout=0))

    message = update.message
    assert [(e.type, e.offset, e.length) for e in message.entities] == [
        ("mention", 9, 16),
        ("bot_command", 35, 21),
    ]
    assert list(message.parse_entities().values()) == [
        "@Hermes_Test_Bot",
        "/help@hermes_test_bot",
    ]


def test_entities_given_to_a_push_are_sent_as_they_are(tg: FakeTelegram) -> None:
    bot_user = {"id": 123456, "is_bot": True, "first_name": "Hermes Test"}
    mention = {"type": "text_mention", "offset": 4, "length": 6, "user": bot_user}
    tg.push_message(-100, 7, "Hey Hermes, hi", chat_type="group", entities=[mention])
    [update] = run_bot(tg, lambda bot: bot.get_updates(timeout=0))

    [entity] = update.message.entities
    assert (entity.type, entity.user.id, update.message.parse_entity(entity)) == (
        "text_mention",
        123456,
        "Hermes",
    )


def test_a_reply_carries_the_message_it_replies_to(tg: FakeTelegram) -> None:
    asked = tg.push_message(-100, 7, "question", chat_type="group")
    question_id = tg.message_id_of(asked)

    async def steps(bot: telegram.Bot) -> telegram.Message:
        answer = await bot.send_message(-100, "answer", reply_to_message_id=question_id)
        tg.push_message(-100, 8, "a follow-up", chat_type="group", reply_to=answer.message_id)
        updates = await bot.get_updates(timeout=0)
        return updates[-1].message

    follow_up = run_bot(tg, steps)
    replied = follow_up.reply_to_message
    assert (replied.text, replied.from_user.is_bot) == ("answer", True)
    assert replied.reply_to_message is None, "Telegram does not nest replies further"
    with pytest.raises(ValueError, match="no message 99"):
        tg.push_message(-100, 8, "to nothing", chat_type="group", reply_to=99)


def test_an_edit_arrives_as_edited_message_only_when_allowed(tg: FakeTelegram) -> None:
    first = tg.push_message(42, 7, "helo @hermes_test_bot")
    edited = tg.push_edit(42, tg.message_id_of(first), "hello @hermes_test_bot")
    dropped = tg.push_edit(42, tg.message_id_of(first), "hello again")

    async def steps(bot: telegram.Bot) -> list[telegram.Update]:
        kinds = ["message", "edited_message"]
        updates = await bot.get_updates(timeout=0, allowed_updates=kinds, limit=2)
        await bot.get_updates(offset=updates[-1].update_id + 1, allowed_updates=["message"])
        return updates

    original, edit = run_bot(tg, steps)
    assert (original.update_id, edit.update_id) == (first, edited)
    assert edit.message is None
    message = edit.edited_message
    assert (message.message_id, message.text) == (
        original.message.message_id,
        "hello @hermes_test_bot",
    )
    assert message.edit_date is not None
    assert [e.type for e in message.entities] == ["mention"]
    assert dropped not in tg.delivered_update_ids(), "an update not allowed is dropped"
    with pytest.raises(ValueError, match="no message 99"):
        tg.push_edit(42, 99, "nothing to edit")


def test_long_poll_waits_until_an_update_is_pushed(tg: FakeTelegram) -> None:
    threading.Timer(0.4, tg.push_message, args=(42, 7, "late")).start()
    started = time.monotonic()
    updates = run_bot(tg, lambda bot: bot.get_updates(timeout=10))
    waited = time.monotonic() - started

    assert [u.message.text for u in updates] == ["late"]
    assert 0.3 < waited < 5


def test_long_poll_returns_nothing_when_its_timeout_passes(tg: FakeTelegram) -> None:
    started = time.monotonic()
    status, body = raw(tg, "getUpdates", {"timeout": 1})
    assert (status, body) == (200, {"ok": True, "result": []})
    assert 0.9 < time.monotonic() - started < 5


def test_a_newer_poll_ends_a_waiting_one_with_conflict(tg: FakeTelegram) -> None:
    results: list[tuple[int, dict]] = []
    waiting = threading.Thread(
        target=lambda: results.append(raw(tg, "getUpdates", {"timeout": 20}))
    )
    waiting.start()
    tg.wait_until(lambda: len(tg.calls("getUpdates")) == 1)
    assert raw(tg, "getUpdates", {"timeout": 0}) == (200, {"ok": True, "result": []})
    waiting.join(5)
    assert results[0][0] == 409
    assert results[0][1]["description"].startswith("Conflict: terminated by other getUpdates")


def test_stop_releases_a_hanging_long_poll_promptly() -> None:
    fake = FakeTelegram().start()
    results: list[tuple[int, dict]] = []
    poller = threading.Thread(
        target=lambda: results.append(raw(fake, "getUpdates", {"timeout": 30}))
    )
    poller.start()
    fake.wait_until(lambda: len(fake.calls("getUpdates")) == 1)
    started = time.monotonic()
    fake.stop()
    poller.join(5)
    assert not poller.is_alive()
    assert time.monotonic() - started < 2
    assert results == [(200, {"ok": True, "result": []})]


# ----- files ---------------------------------------------------------------------------------


def jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "teal").save(out, "JPEG")
    return out.getvalue()


def test_a_photo_arrives_in_several_sizes_the_largest_last_and_downloads_as_sent(
    tg: FakeTelegram,
) -> None:
    data = jpeg(1000, 750)
    tg.push_photo(42, 7, data, caption="our garden @hermes_test_bot")

    async def steps(bot: telegram.Bot) -> tuple[telegram.Message, telegram.File, bytes, bytes]:
        [update] = await bot.get_updates(timeout=0)
        photo = update.message.photo
        found = await bot.get_file(photo[-1].file_id)
        smallest = await (await bot.get_file(photo[0].file_id)).download_as_bytearray()
        return update.message, found, bytes(await found.download_as_bytearray()), smallest

    message, found, downloaded, smallest = run_bot(tg, steps)
    assert message.text is None
    assert message.caption == "our garden @hermes_test_bot"
    assert [e.type for e in message.caption_entities] == ["mention"]
    sizes = message.photo
    assert len(sizes) >= 3
    assert [(s.width, s.height) for s in sizes][-1] == (1000, 750)
    assert [s.width for s in sizes] == sorted(s.width for s in sizes)
    assert len({s.file_id for s in sizes}) == len({s.file_unique_id for s in sizes}) == len(sizes)
    assert sizes[-1].file_size == len(data)
    assert downloaded == data
    assert len(smallest) == sizes[0].file_size and Image.open(io.BytesIO(smallest)).width <= 90
    assert (found.file_unique_id, found.file_size) == (sizes[-1].file_unique_id, len(data))
    assert found.file_path.startswith(f"{tg.base_file_url}{tg.token}/photos/file_")


def test_a_document_arrives_with_its_name_type_and_caption_and_downloads_as_sent(
    tg: FakeTelegram,
) -> None:
    data = b"city,rain\nBergen,200\n"
    tg.push_document(42, 7, data, file_name="rain.csv", mime_type="text/csv", caption="wet?")

    async def steps(bot: telegram.Bot) -> tuple[telegram.Message, bytes]:
        [update] = await bot.get_updates(timeout=0)
        found = await bot.get_file(update.message.document.file_id)
        return update.message, bytes(await found.download_as_bytearray())

    message, downloaded = run_bot(tg, steps)
    document = message.document
    assert (document.file_name, document.mime_type, document.file_size) == (
        "rain.csv",
        "text/csv",
        len(data),
    )
    assert message.caption == "wet?"
    assert downloaded == data
    [path] = tg.downloads()
    assert path.startswith("documents/file_") and path.endswith(".csv")


def test_voice_and_sticker_messages_arrive_as_telegram_sends_them(tg: FakeTelegram) -> None:
    tg.push_voice(42, 7, b"OggS fake voice", duration=3)
    tg.push_sticker(42, 7, emoji="👍")
    voice, sticker = (u.message for u in run_bot(tg, lambda bot: bot.get_updates(timeout=0)))
    described = voice.voice.to_dict()
    assert (described["duration"], described["mime_type"], described["file_size"]) == (
        3,
        "audio/ogg",
        len(b"OggS fake voice"),
    )
    assert voice.text is None and voice.photo == ()
    assert (sticker.sticker.emoji, sticker.sticker.type, sticker.sticker.width) == (
        "👍",
        "regular",
        512,
    )


def test_get_file_refuses_an_unknown_id_and_a_file_over_20_mb(tg: FakeTelegram) -> None:
    tg.push_document(42, 7, b"x" * (20 * 1024 * 1024 + 1), file_name="big.bin")
    [update] = run_bot(tg, lambda bot: bot.get_updates(timeout=0))
    assert update.message.document.file_size == 20 * 1024 * 1024 + 1
    status, body = raw(tg, "getFile", {"file_id": update.message.document.file_id})
    assert (status, body["description"]) == (400, "Bad Request: file is too big")
    status, body = raw(tg, "getFile", {"file_id": "no-such-file"})
    assert (status, body["description"]) == (400, "Bad Request: invalid file_id")


def test_the_download_url_needs_the_token_and_a_path_given_by_get_file(tg: FakeTelegram) -> None:
    tg.push_document(42, 7, b"secret", file_name="a.txt")
    [update] = run_bot(tg, lambda bot: bot.get_updates(timeout=0))
    _, body = raw(tg, "getFile", {"file_id": update.message.document.file_id})
    path = body["result"]["file_path"]
    base = tg.base_file_url.removesuffix("/file/bot")
    with urllib.request.urlopen(f"{tg.base_file_url}{tg.token}/{path}", timeout=5) as reply:
        assert reply.read() == b"secret"
    for wrong in (f"/file/bot1:WRONG/{path}", f"/file/bot{tg.token}/documents/file_99.txt"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + wrong, timeout=5)
        assert refused.value.code in (401, 404)


# ----- sending and formatting ----------------------------------------------------------------


def test_send_message_html_returns_the_message_and_records_it(tg: FakeTelegram) -> None:
    tg.push_message(42, 7, "question")
    keyboard = telegram.InlineKeyboardMarkup(
        [[telegram.InlineKeyboardButton("Approve", callback_data="ok:1")]]
    )
    html = (
        '<b>Bold</b> <a href="https://example.com/?a=1&amp;b=2">link</a> &lt;tag&gt; '
        '<pre><code class="language-python">x = 1</code></pre>'
    )
    sent = run_bot(
        tg,
        lambda bot: bot.send_message(
            42, html, parse_mode="HTML", reply_markup=keyboard, reply_to_message_id=1
        ),
    )

    assert sent.message_id == 2
    assert sent.text == "Bold link <tag> x = 1"
    assert sent.from_user.username == "hermes_test_bot"
    assert sent.reply_to_message.text == "question"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("bold", 0, 4),
        ("text_link", 5, 4),
        ("pre", 16, 5),
    ]
    assert sent.entities[1].url == "https://example.com/?a=1&b=2"
    assert sent.entities[2].language == "python"
    assert sent.reply_markup.inline_keyboard[0][0].callback_data == "ok:1"
    [record] = tg.messages(42)
    assert (record.message_id, record.text, record.parse_mode) == (2, html, "HTML")
    assert record.reply_markup == {
        "inline_keyboard": [[{"text": "Approve", "callback_data": "ok:1"}]]
    }
    assert record.edits == []


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<b>unclosed", 'can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>crossed</b></i>", 'expected "</i>", found "</b>"'),
        ("<div>block</div>", 'unsupported start tag "div"'),
        ("a < b", "unclosed start tag"),
        ("fish &amp; chips &nbsp;", "unsupported html entity"),
        ("Q&A", "unsupported html entity"),
        ("<span>hidden</span>", 'tag "span" must have attribute "class"'),
        ("<code><b>x</b></code>", 'tag "b" can\'t be nested in "code"'),
        ("line<br/>break", 'unsupported start tag "br/"'),
    ],
)
def test_send_message_refuses_html_telegram_cannot_parse(
    tg: FakeTelegram, html: str, reason: str
) -> None:
    with pytest.raises(BadRequest) as refused:
        run_bot(tg, lambda bot: bot.send_message(42, html, parse_mode="HTML"))
    assert refused.value.message.lower().startswith("can't parse entities: ")
    assert reason in refused.value.message.lower()
    assert tg.messages(42) == []


def test_send_message_accepts_every_tag_telegram_allows(tg: FakeTelegram) -> None:
    html = (
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s>"
        '<strike>k</strike><del>d</del><span class="tg-spoiler">p</span><tg-spoiler>t</tg-spoiler>'
        '<a href="tg://user?id=1">a</a><code>c</code><pre>p</pre>'
        "<blockquote>q</blockquote><blockquote expandable>x</blockquote> &quot;&#33;"
    )
    sent = run_bot(tg, lambda bot: bot.send_message(42, html, parse_mode="HTML"))
    assert sent.text == 'bsieunskdptacpqx "!'
    assert [e.type for e in sent.entities] == [
        *["bold"] * 2,
        *["italic"] * 2,
        *["underline"] * 2,
        *["strikethrough"] * 3,
        *["spoiler"] * 2,
        "text_link",
        "code",
        "pre",
        "blockquote",
        "expandable_blockquote",
    ]


def test_send_message_refuses_too_long_and_empty_text(tg: FakeTelegram) -> None:
    async def steps(bot: telegram.Bot) -> list[str]:
        await bot.send_message(42, "x" * 4096)
        await bot.send_message(42, "<b>" + "y" * 4096 + "</b>", parse_mode="HTML")
        refusals = []
        for text, mode in [("x" * 4097, None), ("", None), ("  \n", None), ("<b></b>", "HTML")]:
            try:
                await bot.send_message(42, text, parse_mode=mode)
            except BadRequest as error:
                refusals.append(error.message)
        return refusals

    assert run_bot(tg, steps) == ["Message is too long"] + ["Message text is empty"] * 3
    assert [len(m.text) for m in tg.messages(42)] == [4096, 4103]


def test_edit_message_text_keeps_history_and_refuses_an_unchanged_edit(tg: FakeTelegram) -> None:
    async def steps(bot: telegram.Bot) -> str:
        sent = await bot.send_message(42, "Thinking…")
        await bot.edit_message_text("Hello", chat_id=42, message_id=sent.message_id)
        edited = await bot.edit_message_text(
            "<b>Hello</b> world", chat_id=42, message_id=sent.message_id, parse_mode="HTML"
        )
        assert edited.text == "Hello world" and edited.edit_date is not None
        with pytest.raises(BadRequest, match="not found"):
            await bot.edit_message_text("x", chat_id=42, message_id=99)
        with pytest.raises(BadRequest) as unchanged:
            await bot.edit_message_text(
                "<strong>Hello</strong> world",
                chat_id=42,
                message_id=sent.message_id,
                parse_mode="HTML",
            )
        return unchanged.value.message

    assert run_bot(tg, steps).startswith("Message is not modified")
    [message] = tg.messages(42)
    assert message.text == "<b>Hello</b> world"
    assert message.edits == ["Thinking…", "Hello"]
    assert len(tg.calls("editMessageText")) == 4


def test_callback_query_round_trip(tg: FakeTelegram) -> None:
    buttons = telegram.InlineKeyboardMarkup(
        [[telegram.InlineKeyboardButton("Yes", callback_data="approve")]]
    )
    sent = run_bot(tg, lambda bot: bot.send_message(42, "Run it?", reply_markup=buttons))
    update_id = tg.push_callback(42, 7, "approve", sent.message_id)

    async def steps(bot: telegram.Bot) -> telegram.CallbackQuery:
        [update] = await bot.get_updates(timeout=0)
        assert update.update_id == update_id
        query = update.callback_query
        await bot.answer_callback_query(query.id, text="Approved")
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):
            await bot.answer_callback_query(query.id)
        await bot.edit_message_reply_markup(chat_id=42, message_id=sent.message_id)
        return query

    query = run_bot(tg, steps)
    assert (query.data, query.from_user.id) == ("approve", 7)
    assert (query.message.message_id, query.message.text) == (sent.message_id, "Run it?")
    assert query.message.reply_markup.inline_keyboard[0][0].text == "Yes"
    assert tg.callback_answers() == [{"callback_query_id": query.id, "text": "Approved"}]
    assert tg.messages(42)[0].reply_markup is None


def test_chat_actions_are_recorded_per_chat(tg: FakeTelegram) -> None:
    async def steps(bot: telegram.Bot) -> None:
        await bot.send_chat_action(42, "typing")
        await bot.send_chat_action(43, "upload_document")
        with pytest.raises(BadRequest, match="action"):
            await bot.send_chat_action(42, "dancing")

    run_bot(tg, steps)
    assert (tg.chat_actions(42), tg.chat_actions(43)) == (["typing"], ["upload_document"])


def test_commands_are_set_read_and_deleted(tg: FakeTelegram) -> None:
    async def steps(bot: telegram.Bot) -> list[tuple[str, ...]]:
        await bot.set_my_commands([("new", "Start a new conversation"), ("stop", "Stop the run")])
        first = await bot.get_my_commands()
        await bot.delete_my_commands()
        with pytest.raises(BadRequest, match="Bot_command_invalid"):
            await bot.set_my_commands([("Bad-Name", "x")])
        return [tuple(c.command for c in first), tuple(await bot.get_my_commands())]

    assert run_bot(tg, steps) == [("new", "stop"), ()]


def test_the_commands_set_can_be_read_back_by_the_test(tg: FakeTelegram) -> None:
    run_bot(tg, lambda bot: bot.set_my_commands([("new", "Start a new conversation")]))
    assert tg.commands() == [{"command": "new", "description": "Start a new conversation"}]


# ----- failures ------------------------------------------------------------------------------


def test_fail_next_429_gives_retry_after_with_the_seconds(
    tg: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # PTB's coming type for retry_after
    tg.fail_next("sendMessage", retry_after=7, times=2)

    async def steps(bot: telegram.Bot) -> list[float]:
        waits = []
        for _ in range(2):
            with pytest.raises(RetryAfter) as limited:
                await bot.send_message(42, "hi")
            waits.append(seconds(limited.value.retry_after))
        await bot.send_message(42, "hi")
        return waits

    assert run_bot(tg, steps) == [7, 7]
    assert [m.text for m in tg.messages(42)] == ["hi"]
    calls = tg.calls("sendMessage")
    assert len(calls) == 3 and calls[0].at <= calls[1].at <= calls[2].at


def test_fail_next_with_another_status_carries_no_retry_after(tg: FakeTelegram) -> None:
    tg.fail_next("getMe", status=502)
    status, body = raw(tg, "getMe")
    assert (status, body) == (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})
    assert raw(tg, "getMe")[0] == 200


def test_unknown_method_and_wrong_token_are_refused(tg: FakeTelegram) -> None:
    assert raw(tg, "sendTelepathy", {}) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    assert raw(tg, "getMe", token="1:WRONG")[0] == 401
    with pytest.raises(InvalidToken):
        run_bot(tg, lambda bot: bot.send_sticker(42, "sticker-id"))
    assert [call.method for call in tg.calls() if call.method != "getMe"] == [
        "sendTelepathy",
        "sendSticker",
    ]


def test_parameters_arrive_the_same_in_every_encoding(tg: FakeTelegram) -> None:
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "123"}]]}
    form = "chat_id=42&text=123&reply_markup=" + urllib.request.quote(json.dumps(markup))
    boundary = "xyz"
    multipart = (
        "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in [
                ("chat_id", "42"),
                ("text", "123"),
                ("reply_markup", json.dumps(markup)),
            ]
        )
        + f"--{boundary}--\r\n"
    )

    results = [
        raw(tg, "sendMessage", {"chat_id": 42, "text": "123", "reply_markup": markup}),
        raw(tg, "sendMessage", form.encode(), content_type="application/x-www-form-urlencoded"),
        raw(
            tg,
            "sendMessage",
            multipart.encode(),
            content_type=f"multipart/form-data; boundary={boundary}",
        ),
    ]
    assert [status for status, _ in results] == [200, 200, 200]
    assert [body["result"]["message_id"] for _, body in results] == [1, 2, 3]
    params = [call.params for call in tg.calls("sendMessage")]
    assert params == [{"chat_id": 42, "text": "123", "reply_markup": markup}] * 3
    assert raw(tg, "sendMessage", b"{not json")[0] == 400


# ----- a whole bot ---------------------------------------------------------------------------


def test_a_polling_application_answers_each_message_once(tg: FakeTelegram) -> None:
    async def echo(update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await context.bot.send_chat_action(update.effective_chat.id, "typing")
        await update.effective_message.reply_html(f"<i>{update.effective_message.text}</i>")

    async def main() -> None:
        app = Application.builder().token(tg.token).base_url(tg.base_url).build()
        app.add_handler(MessageHandler(filters.TEXT, echo))
        async with app:
            await app.start()
            await app.updater.start_polling(poll_interval=0, timeout=5)
            tg.push_message(42, 7, "one")
            tg.push_message(42, 7, "two")
            await asyncio.to_thread(tg.wait_until, lambda: len(tg.messages(42)) == 2)
            await app.updater.stop()
            await app.stop()

    asyncio.run(main())
    assert [m.text for m in tg.messages(42)] == ["<i>one</i>", "<i>two</i>"]
    assert tg.chat_actions(42) == ["typing", "typing"]
    delivered = tg.delivered_update_ids()
    assert sorted(set(delivered)) == [1, 2] and len(delivered) == 2


def test_wait_until_describes_the_chats_when_it_times_out(tg: FakeTelegram) -> None:
    raw(tg, "sendMessage", {"chat_id": 42, "text": "only this"})
    with pytest.raises(AssertionError, match=r"(?s)chat 42.*#1 'only this'"):
        tg.wait_until(lambda: len(tg.messages(42)) == 2, timeout=0.2)
