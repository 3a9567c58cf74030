"""Restarting `hermes gateway` in the middle of a turn neither repeats nor loses a message.

Telegram re-sends every update the bot has not confirmed, so the gateway must remember how
far it got; and the messages it took but had not answered yet must be answered after the
restart, once.
"""

from __future__ import annotations

import base64
import io
import json
from collections import Counter

import pytest
from PIL import Image

from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.fakes.telegram_server import FakeTelegram
from tests.gateway_support import TIMEOUT, GatewayProcess, texts

USER = 4242
LONG = " ".join(f"part{i}" for i in range(40))


@pytest.fixture
def world(tmp_path):
    with FakeTelegram() as tg, FakeOpenAI() as llm:
        gateway = GatewayProcess(tmp_path, llm, tg, HERMES_TELEGRAM_ALLOWED_USERS=str(USER))
        yield tg, llm, gateway
        gateway.kill()


def mid_turn_with_one_waiting(tg: FakeTelegram, llm: FakeOpenAI, gateway: GatewayProcess) -> int:
    """Start the first message's turn, and have the second one taken and waiting."""
    gateway.start()
    tg.push_message(USER, USER, "first question")
    tg.wait_until(lambda: texts(tg, USER), TIMEOUT)  # the answer is being streamed
    second = tg.push_message(USER, USER, "second question")
    tg.wait_until(  # taken, and confirmed to Telegram by the next poll
        lambda: any(int(c.params.get("offset") or 0) > second for c in tg.calls("getUpdates")),
        TIMEOUT,
    )
    return second


def test_a_graceful_restart_mid_turn_finishes_it_and_answers_the_waiting_message(world):
    tg, llm, gateway = world
    llm.script(Reply.text(LONG, delay=0.1), Reply.text("second answer"))
    second = mid_turn_with_one_waiting(tg, llm, gateway)
    assert gateway.stop() == 0, gateway.log()
    assert texts(tg, USER) == [LONG]  # the running turn was finished, not cut
    assert len(llm.requests) == 1

    polls = len(tg.calls("getUpdates"))
    gateway.start()
    assert tg.calls("getUpdates")[polls].params["offset"] == second + 1  # resumes where it was
    tg.wait_until(lambda: texts(tg, USER) == [LONG, "second answer"], TIMEOUT)
    assert len(llm.requests) == 2
    assert not [i for i, n in Counter(tg.delivered_update_ids()).items() if n > 1]
    assert gateway.stop() == 0


def test_a_crash_mid_turn_repeats_no_update_and_loses_none(world):
    tg, llm, gateway = world
    llm.script(Reply.text(LONG, delay=0.3), Reply.text("second answer"))
    second = mid_turn_with_one_waiting(tg, llm, gateway)
    gateway.kill()

    polls = len(tg.calls("getUpdates"))
    gateway.start()
    assert tg.calls("getUpdates")[polls].params["offset"] == second + 1  # resumes where it was
    tg.wait_until(lambda: texts(tg, USER)[-1:] == ["second answer"], TIMEOUT)
    partial, notice = tg.messages(USER)[-3:-1]
    assert partial.text.startswith("part0 part1") and partial.text != LONG
    assert "This answer was cut off" in notice.text
    assert "Hermes restarted while answering “first question”" in notice.text
    assert notice.reply_to == partial.message_id, "the cut-off answer is marked, not final"
    assert [m["messages"][-1]["content"] for m in llm.requests] == [
        "first question",
        "second question",
    ]
    assert not [i for i, n in Counter(tg.delivered_update_ids()).items() if n > 1]

    llm.script(Reply.text("first answer, at last"))
    tg.push_message(USER, USER, "first question")  # sent again, as the notice asks
    tg.wait_until(lambda: texts(tg, USER)[-1:] == ["first answer, at last"], TIMEOUT)
    said = [m["content"] for m in llm.requests[-1]["messages"] if m["role"] == "user"]
    assert said == ["second question", "first question"], "kept once, where it was sent again"
    assert gateway.stop() == 0


def test_after_a_restart_a_waiting_group_message_is_answered_as_a_reply_to_it(world):
    tg, llm, gateway = world
    group = -4242
    llm.script(Reply.text(LONG, delay=0.1), Reply.text("second answer"))
    gateway.start()
    tg.push_message(group, USER, "@hermes_test_bot first question", chat_type="group")
    tg.wait_until(lambda: texts(tg, group), TIMEOUT)  # the answer is being streamed
    second = tg.push_message(group, USER, "@hermes_test_bot second question", chat_type="group")
    tg.wait_until(
        lambda: any(int(c.params.get("offset") or 0) > second for c in tg.calls("getUpdates")),
        TIMEOUT,
    )
    assert gateway.stop() == 0, gateway.log()

    gateway.start()
    tg.wait_until(lambda: texts(tg, group) == [LONG, "second answer"], TIMEOUT)
    assert tg.messages(group)[1].reply_to == tg.message_id_of(second)
    assert gateway.stop() == 0


def test_a_message_kept_by_an_older_gateway_is_answered_after_the_upgrade(world):
    """An inbox written before messages carried their own id still loads."""
    tg, llm, gateway = world
    older = {
        "platform": "telegram",
        "chat_id": str(USER),
        "user_id": str(USER),
        "text": "kept from before",
        "chat_type": "dm",
        "user_name": None,
        "ref": "7",
    }
    inbox = {"cursors": {"telegram": 7}, "pending": [{"event": older, "started": False}]}
    (gateway.home / "gateway").mkdir(parents=True)
    (gateway.home / "gateway" / "inbox.json").write_text(json.dumps(inbox))
    llm.script(Reply.text("answered at last"))
    gateway.start()
    tg.wait_until(lambda: texts(tg, USER) == ["answered at last"], TIMEOUT)
    assert llm.requests[-1]["messages"][-1]["content"] == "kept from before"
    assert gateway.stop() == 0


def test_a_photo_taken_before_a_restart_reaches_the_model_after_it(world):
    """The inbox keeps the photo's reference; the bytes are fetched when its turn runs."""
    tg, llm, gateway = world
    gateway.env["HERMES_VISION_MODELS"] = "*"
    out = io.BytesIO()
    Image.new("RGB", (400, 300), "seagreen").save(out, "JPEG")
    image = out.getvalue()
    llm.script(Reply.text(LONG, delay=0.1), Reply.text("The sea."))
    gateway.start()
    tg.push_message(USER, USER, "first question")
    tg.wait_until(lambda: texts(tg, USER), TIMEOUT)  # the answer is being streamed
    photo = tg.push_photo(USER, USER, image, caption="where is this?")
    tg.wait_until(
        lambda: any(int(c.params.get("offset") or 0) > photo for c in tg.calls("getUpdates")),
        TIMEOUT,
    )
    assert gateway.stop() == 0, gateway.log()
    assert tg.calls("getFile") == [], "not downloaded before its turn"
    kept = (gateway.home / "gateway" / "inbox.json").read_text()
    [waiting] = json.loads(kept)["pending"]
    [reference] = waiting["event"]["files"]
    assert reference["kind"] == "photo" and reference["file_size"] == len(image)
    assert len(kept) < 5000, "a reference, not the bytes"

    gateway.start()
    tg.wait_until(lambda: texts(tg, USER) == [LONG, "The sea."], TIMEOUT)
    caption, *parts = llm.requests[-1]["messages"][-1]["content"]
    assert caption == {"type": "text", "text": "where is this?"}
    [picture] = [p for p in parts if p["type"] == "image_url"]
    assert base64.b64decode(picture["image_url"]["url"].split(",", 1)[1]) == image
    assert gateway.stop() == 0
