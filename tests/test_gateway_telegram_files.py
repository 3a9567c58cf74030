"""Photos and files sent on Telegram reach the model, through getFile and the attachment store:
people send them to the fake Bot API, the gateway process downloads them with
python-telegram-bot when their turn comes, and the scripted provider receives them. The
tests compare the exact bytes the model got, and read what state.db and the store kept.

One gateway serves the whole module (with a model that sees images); each test talks in
chats of its own.
"""

from __future__ import annotations

import base64
import io
import itertools
import sqlite3
from typing import Any

import pytest
from PIL import Image

from hermes_agent.attachments import AttachmentStore
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.fakes.telegram_server import FakeTelegram
from tests.gateway_support import TIMEOUT, GatewayProcess, texts

ALLOWED = range(300, 340)
BOT = "@hermes_test_bot"
TELEGRAM_LIMIT = 20 * 1024 * 1024
_chats = itertools.count(ALLOWED.start)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with FakeTelegram() as tg, FakeOpenAI() as llm:
        gateway = GatewayProcess(
            tmp_path_factory.mktemp("gateway-telegram-files"),
            llm,
            tg,
            HERMES_TELEGRAM_ALLOWED_USERS=",".join(str(u) for u in ALLOWED),
            HERMES_VISION_MODELS="*",
        ).start()
        yield tg, llm, gateway
        assert gateway.stop() == 0, gateway.log()


@pytest.fixture
def tg(world) -> FakeTelegram:
    return world[0]


@pytest.fixture
def llm(world) -> FakeOpenAI:
    world[1].clear_script()
    return world[1]


@pytest.fixture
def gateway(world) -> GatewayProcess:
    return world[2]


@pytest.fixture
def chat() -> int:
    """A private chat of its own: the chat id is the user's id, as on Telegram."""
    return next(_chats)


def jpeg(width: int, height: int, colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "JPEG", quality=90)
    return out.getvalue()


def wait_texts(tg: FakeTelegram, chat: int, expected: list[str]) -> None:
    tg.wait_until(lambda: texts(tg, chat) == expected, TIMEOUT)


def sent(request: dict, index: int = -1) -> tuple[dict, list[dict]]:
    """A user message the model got (the last one unless `index` says): its first part,
    the person's text, and what the file became (an image, or text naming the file)."""
    content = [m for m in request["messages"] if m["role"] == "user"][index]["content"]
    assert isinstance(content, list), content
    return content[0], content[1:]


def image_bytes(parts: list[dict]) -> bytes:
    [part] = [p for p in parts if p["type"] == "image_url"]
    prefix, data = part["image_url"]["url"].split(",", 1)
    assert prefix == "data:image/jpeg;base64"
    return base64.b64decode(data)


def only_session(gateway: GatewayProcess, user: int) -> str:
    db = gateway.db()
    try:
        rows = db.list_sessions_rich(source="telegram", limit=1000, include_children=True)
    finally:
        db.close()
    [session] = [r["id"] for r in rows if r["user_id"] == str(user)]
    return session


def transcript(gateway: GatewayProcess, session_id: str) -> list[tuple[str, Any]]:
    db = gateway.db()
    try:
        return [(m["role"], m["content"]) for m in db.get_messages_as_conversation(session_id)]
    finally:
        db.close()


def test_a_photo_reaches_the_model_as_its_largest_size_with_the_caption(tg, llm, gateway, chat):
    image = jpeg(1000, 750, "crimson")
    llm.script(Reply.text("A red rectangle."), Reply.text("Still red."))
    tg.push_photo(chat, chat, image, caption="What colour is this?")
    wait_texts(tg, chat, ["A red rectangle."])
    caption, picture = sent(llm.requests[-1])
    assert caption == {"type": "text", "text": "What colour is this?"}
    assert image_bytes(picture) == image, "the largest size, byte for byte"

    tg.push_message(chat, chat, "And now?")
    wait_texts(tg, chat, ["A red rectangle.", "Still red."])
    assert image_bytes(sent(llm.requests[-1], 0)[1]) == image, "the history keeps the photo"

    session = only_session(gateway, chat)
    (role, content), *_ = transcript(gateway, session)
    assert role == "user"
    assert content[0] == {"type": "text", "text": "What colour is this?"}
    reference = content[1]["attachment"]
    assert content[1]["type"] == "attachment"
    assert (reference["mime"], reference["width"], reference["height"]) == ("image/jpeg", 1000, 750)
    assert reference["size"] == len(image)
    with sqlite3.connect(gateway.home / "state.db") as conn:
        stored = "".join(row[0] or "" for row in conn.execute("SELECT content FROM messages"))
    conn.close()
    assert base64.b64encode(image).decode()[:200] not in stored, "a reference, not the bytes"

    store = AttachmentStore(gateway.home / "attachments")
    assert store.get(reference["id"]).size == len(image)
    assert store.forget_session("20990101_000000_other") == 0
    assert store.forget_session(session) == 1, "the file lives as long as the conversation"


def test_a_photo_without_a_caption_is_sent_with_a_short_note(tg, llm, chat):
    image = jpeg(64, 48, "navy")
    llm.script(Reply.text("A blue picture."))
    tg.push_photo(chat, chat, image)
    wait_texts(tg, chat, ["A blue picture."])
    note, picture = sent(llm.requests[-1])
    assert note == {"type": "text", "text": "(photo)"}
    assert image_bytes(picture) == image


def test_a_csv_document_reaches_the_model_inlined_as_text(tg, llm, chat):
    csv = b"city,rain\nLisbon,12\nBergen,200\n"
    llm.script(Reply.text("Bergen."))
    tg.push_document(
        chat, chat, csv, file_name="rain.csv", mime_type="text/csv", caption="Which is wetter?"
    )
    wait_texts(tg, chat, ["Bergen."])
    caption, [inlined] = sent(llm.requests[-1])
    assert caption == {"type": "text", "text": "Which is wetter?"}
    assert inlined["text"].startswith("[Attached file rain.csv")
    assert "city,rain\nLisbon,12\nBergen,200\n" in inlined["text"]


def test_voice_and_sticker_messages_are_not_supported_yet_and_the_model_is_not_called(
    tg, llm, chat
):
    requests, downloads = len(llm.requests), len(tg.calls("getFile"))
    tg.push_voice(chat, chat, b"OggS not really a voice", duration=2)
    tg.push_sticker(chat, chat, emoji="👍")
    wait_texts(
        tg,
        chat,
        [
            "Voice messages are not supported yet; send text, a photo or a file.",
            "Stickers are not supported yet; send text, a photo or a file.",
        ],
    )
    assert len(llm.requests) == requests
    assert len(tg.calls("getFile")) == downloads


def test_a_file_over_telegrams_20_mb_download_limit_is_refused_with_a_clear_reply(tg, llm, chat):
    requests, downloads = len(llm.requests), len(tg.calls("getFile"))
    tg.push_document(chat, chat, b"x" * (TELEGRAM_LIMIT + 1), file_name="huge.log")
    tg.wait_until(lambda: texts(tg, chat), TIMEOUT)
    [reply] = texts(tg, chat)
    assert reply == "“huge.log” is too large (20.1 MB): files of up to 20 MB can be read here."
    assert len(llm.requests) == requests
    assert len(tg.calls("getFile")) == downloads, "refused before any download"


def test_a_file_telegram_will_not_give_is_answered_with_the_reason(tg, llm, chat):
    requests = len(llm.requests)
    tg.fail_next("getFile", status=400, description="Bad Request: wrong file_id", times=1)
    tg.push_document(chat, chat, b"some notes", file_name="notes.txt")
    tg.wait_until(lambda: texts(tg, chat), TIMEOUT)
    [reply] = texts(tg, chat)
    assert reply.startswith("Could not fetch “notes.txt”")
    assert "wrong file_id" in reply.lower() and "sending it again" in reply
    assert len(llm.requests) == requests


def test_retry_sends_the_photo_again_with_its_caption(tg, llm, chat):
    image = jpeg(120, 90, "gold")
    llm.script(Reply.text("Yellow?"), Reply.text("Gold."))
    tg.push_photo(chat, chat, image, caption="Which colour exactly?")
    wait_texts(tg, chat, ["Yellow?"])
    tg.push_message(chat, chat, "/retry")
    wait_texts(tg, chat, ["Yellow?", "Gold."])
    caption, picture = sent(llm.requests[-1])
    assert caption == {"type": "text", "text": "Which colour exactly?"}
    assert image_bytes(picture) == image
    assert [m["role"] for m in llm.requests[-1]["messages"]].count("user") == 1


def test_in_a_group_a_photo_is_answered_when_its_caption_mentions_the_bot(tg, llm):
    group, alice = -7100, next(_chats)
    image = jpeg(320, 240, "olive")
    llm.script(Reply.text("An olive square."))
    tg.push_photo(group, alice, jpeg(20, 20, "black"), caption="holiday!", chat_type="group")
    asked = tg.push_photo(group, alice, image, caption=f"{BOT} what is this?", chat_type="group")
    tg.wait_until(lambda: texts(tg, group) == ["An olive square."], TIMEOUT)
    caption, picture = sent(llm.requests[-1])
    assert caption == {"type": "text", "text": "what is this?"}
    assert image_bytes(picture) == image
    assert tg.messages(group)[0].reply_to == tg.message_id_of(asked)


def test_a_strangers_file_is_never_downloaded_or_stored(tg, llm, gateway):
    stranger = 9999
    requests, downloads = len(llm.requests), len(tg.calls("getFile"))
    before = set((gateway.home / "attachments" / "blobs").glob("*"))
    tg.push_document(stranger, stranger, b"#!/bin/sh\nrm -rf ~\n", file_name="run-me.sh")
    tg.wait_until(lambda: texts(tg, stranger), TIMEOUT)  # the one polite refusal
    assert len(tg.calls("getFile")) == downloads
    assert len(llm.requests) == requests
    assert set((gateway.home / "attachments" / "blobs").glob("*")) == before
