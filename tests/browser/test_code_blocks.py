"""Code blocks: coloured by the bundled highlighter, copyable, and never a way to run markup."""

from __future__ import annotations

from tests.conftest import TEST_BASE, _post

PYTHON = "def greet(name):\n    # say hello\n    return f'hello {name}' + str(42)"
HOSTILE_HTML = (
    '<img src=x onerror=alert(1)>\n<script>alert(2)</script>\n<a href="javascript:alert(3)">x</a>'
)


def open_answer(page, cleanup, answer: str) -> None:
    reply = _post(
        TEST_BASE,
        "/api/session/import",
        {
            "messages": [
                {"role": "user", "content": "code?"},
                {"role": "assistant", "content": answer},
            ]
        },
    )
    sid = reply["session"]["session_id"]
    cleanup.append(sid)
    page.goto(f"{TEST_BASE}/#session={sid}")
    page.locator("#messages .code pre code").first.wait_for()


def test_python_block_is_coloured_and_copy_gives_the_plain_code(
    page, page_errors, cleanup_test_sessions
):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=TEST_BASE)
    open_answer(page, cleanup_test_sessions, f"Here:\n\n```python\n{PYTHON}\n```\n")
    code = page.locator("#messages .code pre code").first
    page.wait_for_function(
        "() => document.querySelector('#messages .code code.hljs .hljs-keyword') !== null"
    )

    assert code.inner_text() == PYTHON, "colouring never changes the text"
    keywords = code.locator(".hljs-keyword").all_inner_texts()
    assert "def" in keywords and "return" in keywords
    assert code.locator(".hljs-comment").inner_text() == "# say hello"
    page.locator("#messages .code .copy").first.click()
    assert page.evaluate("navigator.clipboard.readText()") == PYTHON
    assert page_errors.uncaught == []


def test_hostile_html_in_a_code_block_stays_text(page, page_errors, cleanup_test_sessions):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_answer(page, cleanup_test_sessions, f"```html\n{HOSTILE_HTML}\n```")
    page.wait_for_function("() => document.querySelector('#messages code.hljs') !== null")

    code = page.locator("#messages .code pre code").first
    assert code.inner_text() == HOSTILE_HTML
    assert code.locator("img, script, a").count() == 0
    assert set(code.evaluate("c => [...c.querySelectorAll('*')].map(n => n.tagName)")) <= {"SPAN"}
    assert dialogs == []
    assert page_errors.uncaught == []


def test_unclosed_block_is_left_plain(page, cleanup_test_sessions):
    """A fence still open (an answer cut off mid-block) is shown as typed, not coloured."""
    open_answer(
        page,
        cleanup_test_sessions,
        f"```python\n{PYTHON}\n```\n\nAnd the rest:\n\n```python\nwhile True:\n    pass",
    )
    page.wait_for_function("() => document.querySelector('#messages code.hljs') !== null")
    blocks = page.locator("#messages .code pre code")

    assert blocks.count() == 2
    assert blocks.nth(0).locator(".hljs-keyword").count() > 0, "the closed block is coloured"
    assert blocks.nth(1).inner_text() == "while True:\n    pass"
    assert blocks.nth(1).locator("span").count() == 0
