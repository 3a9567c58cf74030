"""Long messages of yours fold to a dozen lines behind "Show more" / "Show less"."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.chat_support import ANSWERS, WAIT, open_app, say
from tests.conftest import TEST_BASE, _post
from tests.fakes.openai_server import Reply

LONG = "\n".join(f"line {n} of a long paste" for n in range(40))
WIDE = "word " * 200  # one line of 1,000 characters
SHORT = "A short question\nover two lines"

CLIPPED = "(node) => node.scrollHeight > node.clientHeight + 1"


def test_long_message_folds_and_the_button_works_from_the_keyboard(
    page, page_errors, cleanup_test_sessions
):
    reply = _post(
        TEST_BASE,
        "/api/session/import",
        {
            "messages": [
                {"role": "user", "content": SHORT},
                {"role": "assistant", "content": "ok"},
                {"role": "user", "content": WIDE},
                {"role": "assistant", "content": "ok"},
                {"role": "user", "content": LONG},
                {"role": "assistant", "content": "ok"},
            ]
        },
    )
    sid = reply["session"]["session_id"]
    cleanup_test_sessions.append(sid)
    page.goto(f"{TEST_BASE}/#session={sid}")
    mine = page.locator("#messages .msg-user")
    expect(mine).to_have_count(3)

    assert mine.nth(0).get_by_role("button", name="Show more").count() == 0
    expect(mine.nth(1).get_by_role("button", name="Show more")).to_be_visible()
    long = mine.nth(2)
    text = long.locator(".plain")
    button = long.get_by_role("button", name="Show")  # "Show more", then "Show less"
    expect(button).to_have_text("Show more")
    expect(button).to_have_attribute("aria-expanded", "false")
    assert text.evaluate(CLIPPED), "the long message is folded"
    assert text.text_content() == LONG, "all of it is still there, for search and copy"
    assert button.get_attribute("aria-controls") == text.get_attribute("id")

    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(button).to_have_text("Show less")
    assert not text.evaluate(CLIPPED)
    expect(button).to_be_focused()

    page.keyboard.press("Space")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(button).to_have_text("Show more")
    assert text.evaluate(CLIPPED)

    long.get_by_role("button", name="Edit your last message").click()
    assert long.locator("textarea").input_value() == LONG, "Edit starts from the whole text"
    assert page_errors.uncaught == []


def test_long_message_you_send_folds_too(chat_page, fake_llm, chat_page_errors):
    fake_llm.script(Reply.text("Got it."))
    open_app(chat_page)
    say(chat_page, LONG)
    expect(chat_page.locator(ANSWERS).last).to_have_text("Got it.", timeout=WAIT)
    mine = chat_page.locator("#messages .msg-user").last
    expect(mine.get_by_role("button", name="Show more")).to_be_visible()
    # The pane is redrawn from the saved conversation as the answer ends, so a located bubble
    # may be gone by the time it is read: find and measure the shown one in one step.
    chat_page.wait_for_function(
        "() => { const n = [...document.querySelectorAll('#messages .msg-user .plain')].pop();"
        " return n && n.scrollHeight > n.clientHeight + 1; }"
    )
    assert chat_page_errors.uncaught == []
