"""The README's pictures: a chat, files and a table with math, the sidebar while searching, the
settings, a phone-width page.

Each test builds its scene through the UI and the HTTP API, checks that what the picture is
meant to show is on screen, and saves the picture (to docs/screenshots only with
HERMES_UPDATE_SCREENSHOTS=1; see `screenshot_dir`).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.pages import fresh_page, wait_until_loaded
from tests.fakes.openai_server import Reply
from tests.support import request

ANSWER = (
    "Here is a script that counts the words in every Markdown file:\n\n"
    "```python\nfrom pathlib import Path\n\n"
    "for path in sorted(Path('notes').glob('*.md')):\n"
    "    print(path.name, len(path.read_text().split()))\n```\n\n"
    "Run it from your workspace. The **largest** file is listed last."
)
TOPICS = {
    "Weekly grocery plan": "Oats, lentils, spinach and coffee; the market opens at eight.",
    "Fix the flaky CI job": "The test waits on a fixed sleep; wait for the port instead.",
    "Trip to Lisbon in May": "Take the ferry across the Tagus to Cacilhas for lunch.",
    "Rust lifetimes explained": "A lifetime names how long a borrow stays valid.",
    "Budget spreadsheet formulas": "Use SUMIFS to total each category per month.",
    "Island weekend": "The morning ferry leaves at nine; book a return for Sunday.",
}
PROJECTS = {
    "Travel": ("#2e7d32", ["Trip to Lisbon in May", "Island weekend"]),
    "Work": ("#1565c0", ["Fix the flaky CI job"]),
}


@pytest.fixture
def screens_page(browser, settings_server, fake_llm):
    fake_llm.clear_script()
    with fresh_page(browser, settings_server.base) as page:
        yield page


@pytest.fixture(scope="module")
def scene(settings_server) -> str:
    """Some conversations to list, one of them pinned; returns the id of the pinned one."""
    ids = {}
    for topic, answer in TOPICS.items():
        reply = request(
            settings_server.base,
            "POST",
            "/api/session/import",
            {
                "title": topic,
                "messages": [
                    {"role": "user", "content": f"Help me with this: {topic.lower()}."},
                    {"role": "assistant", "content": answer},
                ],
            },
        )
        ids[topic] = reply.json["session"]["session_id"]
    for name, (color, topics) in PROJECTS.items():
        created = request(
            settings_server.base, "POST", "/api/projects/create", {"name": name, "color": color}
        )
        for topic in topics:
            request(
                settings_server.base,
                "POST",
                "/api/session/move",
                {"session_id": ids[topic], "project_id": created.json["project"]["project_id"]},
            )
    pinned = ids["Trip to Lisbon in May"]
    request(
        settings_server.base, "POST", "/api/session/pin", {"session_id": pinned, "pinned": True}
    )
    return pinned


def chat_with_answer(page, fake_llm) -> None:
    """Send one prompt through the UI and wait until its streamed answer is complete."""
    fake_llm.script(Reply.text(ANSWER, delay=0.002))
    page.goto("/")
    wait_until_loaded(page)
    page.fill("#message-input", "Count the words in my notes, per file")
    page.keyboard.press("Enter")
    page.locator("#messages .msg-assistant pre code").wait_for()
    page.locator("#stop-button").wait_for(state="hidden")


def test_chat_screenshot(screens_page, fake_llm, scene, screenshot_dir):
    chat_with_answer(screens_page, fake_llm)

    assert "largest" in screens_page.locator("#messages .msg-assistant").last.inner_text()
    assert screens_page.locator("#messages .msg-user").count() == 1
    screens_page.screenshot(path=str(screenshot_dir / "chat.png"))
    assert (screenshot_dir / "chat.png").stat().st_size > 10_000


def _chart_png() -> bytes:
    """A small bar chart, drawn here, to attach."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (360, 220), "white")
    draw = ImageDraw.Draw(image)
    for i, height in enumerate((60, 120, 90, 170, 140)):
        draw.rectangle((30 + i * 64, 200 - height, 74 + i * 64, 200), fill=(47, 111, 222))
    draw.line((20, 200, 350, 200), fill="black", width=2)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


TABLE_ANSWER = (
    "The chart shows steps per weekday; the CSV agrees:\n\n"
    "| Day | Steps | vs. average |\n|---|--:|--:|\n"
    "| Mon | 4,000 | −38% |\n| Tue | 8,000 | +23% |\n| Thu | 11,300 | +74% |\n\n"
    "The average is $\\bar{x} = \\tfrac{1}{5}\\sum_i x_i \\approx 6{,}500$ steps."
)


def test_attachments_screenshot(screens_page, fake_llm, scene, screenshot_dir):
    fake_llm.script(Reply.text(TABLE_ANSWER, delay=0.002))
    screens_page.goto("/")
    wait_until_loaded(screens_page)
    screens_page.set_input_files(
        "#attach-input",
        [
            {"name": "steps-chart.png", "mimeType": "image/png", "buffer": _chart_png()},
            {"name": "steps.csv", "mimeType": "text/csv", "buffer": b"day,steps\nmon,4000\n"},
        ],
    )
    screens_page.locator("#attachment-tray img").first.wait_for()
    expect(screens_page.get_by_role("button", name="Send")).to_be_enabled()  # uploads done
    screens_page.fill("#message-input", "How active was my week?")
    screens_page.keyboard.press("Enter")
    screens_page.locator("#messages .msg-assistant table").wait_for()
    screens_page.locator("#messages .msg-assistant .katex").first.wait_for()
    screens_page.locator("#stop-button").wait_for(state="hidden")

    assert screens_page.locator("#messages .msg-user img").count() == 1
    screens_page.screenshot(path=str(screenshot_dir / "attachments.png"))
    assert (screenshot_dir / "attachments.png").stat().st_size > 10_000


def test_sidebar_screenshot(screens_page, scene, screenshot_dir):
    screens_page.goto("/")
    screens_page.locator("#session-list .session").first.wait_for()
    screens_page.fill("#session-search", "ferry")
    results = screens_page.locator("#session-list .session")
    screens_page.wait_for_function(
        "() => document.querySelectorAll('#session-list .session mark').length >= 2"
    )

    assert results.count() == 2
    assert "Tagus" in results.all_inner_texts()[0] + results.all_inner_texts()[1]
    screens_page.locator("#sidebar").screenshot(path=str(screenshot_dir / "sidebar.png"))
    assert (screenshot_dir / "sidebar.png").stat().st_size > 5_000


def test_settings_screenshot(screens_page, scene, screenshot_dir):
    screens_page.goto("/")
    wait_until_loaded(screens_page)
    screens_page.click("#settings-button")
    dialog = screens_page.locator("#settings-dialog")
    dialog.wait_for()

    assert dialog.get_by_label("Provider", exact=True).is_visible()
    assert dialog.get_by_label("API key", exact=True).input_value() == ""
    screens_page.screenshot(path=str(screenshot_dir / "settings.png"))
    assert (screenshot_dir / "settings.png").stat().st_size > 10_000


def test_mobile_screenshot(browser, settings_server, fake_llm, scene, screenshot_dir):
    context = browser.new_context(
        viewport={"width": 375, "height": 740}, base_url=settings_server.base, is_mobile=True
    )
    try:
        page = context.new_page()
        chat_with_answer(page, fake_llm)

        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, "nothing overflows sideways at phone width"
        assert page.locator("#chat-title").bounding_box()["width"] > 250, "the title keeps a row"
        for control in ("Model for this conversation", "Retry", "Undo"):
            assert (
                page.get_by_label(control)
                .or_(page.get_by_role("button", name=control))
                .first.is_visible()
            )
        assert not page.locator("#sidebar").is_visible() or page.evaluate(
            "document.getElementById('sidebar').getBoundingClientRect().right <= 0"
        )
        page.screenshot(path=str(screenshot_dir / "mobile.png"))
        assert (screenshot_dir / "mobile.png").stat().st_size > 5_000
    finally:
        context.close()
