"""Copying a whole answer: the Markdown as the model wrote it, one button per answer with text."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.conftest import TEST_BASE, _post

ANSWER = "Two steps:\n\n1. **Pack** the `tent`\n2. Check [the forecast](https://example.org)\n"


def test_copy_gives_the_answers_markdown_and_only_answers_with_text_have_it(
    page, page_errors, cleanup_test_sessions
):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=TEST_BASE)
    call = {"id": "c1", "type": "function", "function": {"name": "clock", "arguments": "{}"}}
    reply = _post(
        TEST_BASE,
        "/api/session/import",
        {
            "messages": [
                {"role": "user", "content": "Plan the trip"},
                {"role": "assistant", "content": "", "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "c1", "content": "09:00"},
                {"role": "assistant", "content": ANSWER},
            ]
        },
    )
    sid = reply["session"]["session_id"]
    cleanup_test_sessions.append(sid)
    page.goto(f"{TEST_BASE}/#session={sid}")
    answers = page.locator("#messages .msg-assistant")
    expect(answers).to_have_count(2)

    copy = page.get_by_role("button", name="Copy this answer")
    expect(copy).to_have_count(1)
    assert answers.last.get_by_role("button", name="Copy this answer").count() == 1
    assert page.locator("#messages .msg-user .copy-answer").count() == 0
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == ANSWER
    expect(copy).to_have_text("Copy", timeout=5_000)
    assert page_errors.uncaught == [] and page_errors.console == []
