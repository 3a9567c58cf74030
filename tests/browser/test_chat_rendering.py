"""Rendering a streaming answer: finished blocks are built once and kept, only the tail is
rebuilt, and the result always equals rendering the whole text at once."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.chat_support import WAIT, open_app, say, wait_for_partial
from tests.browser.pages import collect_errors
from tests.conftest import TEST_BASE
from tests.fakes.openai_server import Reply

TRICKY = (
    "# Plan\r\n\r\nFirst paragraph with `code`, **bold** and a [link](https://example.com).\n"
    "Second line of it.\n\n"
    "3. third\n4. fourth\n   continued here\n\n"
    "- item\n  ```\n- next item\n\n"
    "> quoted\n> still quoted\n\n"
    "```python\ndef f():\n\n    return 1\n```\n\n"
    "---\n\n"
    "~~~\nopen fence\n\nwith a blank line and no end"
)

RICH = (
    "| Fruit | Qty |\n|:--|--:|\n| apple | 2 |\n\n"
    "- outer\n  - inner\n    - deepest\n\n- loose item\n\n"
    "1. one\n\n2\n\n3. three\n\n"
    "Costs $5 and $10, but $x^2$ is math.\n\n"
    "$$\n\\int_0^1 x\\,dx\n$$\n\n"
    "- [x] done\n- [ ] todo\n\n"
    "[docs]: https://example.com/docs\n\n"
    "See [the docs][docs] and ~~old~~ text.\n\n"
    "Title\n=====\n\n"
    "> quoted\nlazy line\n\n"
    "    indented code\n\n    more of it\n\n"
    "Text right before\n$$\na+b\n$$\n\n"
    "![chart](/api/attachment/s/c.png) ![remote](https://example.com/x.png)\n\n"
    "```python\nprint(1)\n```\n\n"
    "$$\n\\frac{1}{2} still open"
)

# A reference defined after the paragraph that uses it was finished: that paragraph changes.
LATE_REFERENCE = (
    "Intro.\n\nLate [use][late] of a reference.\n\nBetween.\n\n"
    "[late]: https://example.com/late\n\nAfter it.\n\n[unused]: https://example.com/u\n\nEnd."
)

# Feeds `text` to markdownStream in small uneven pieces; after each one the DOM must equal
# renderMarkdown of the text so far. Returns the prefixes where they differed, whether the
# first block's node was kept from the moment `marker` showed to the end, and the tags seen.
COMPARE = """async ([text, marker]) => {
  const { markdownStream, renderMarkdown } = await import('/static/js/markdown.js');
  const streamed = document.createElement('div');
  const whole = document.createElement('div');
  const update = markdownStream(streamed);
  const mismatches = [];
  let firstBlock = null;
  let end = 0;
  for (let step = 0; end < text.length; step += 1) {
    end = Math.min(text.length, end + 1 + (step * 7) % 5);
    const prefix = text.slice(0, end);
    update(prefix);
    whole.replaceChildren(renderMarkdown(prefix));
    if (streamed.innerHTML !== whole.innerHTML) mismatches.push(prefix);
    if (!firstBlock && prefix.includes(marker)) firstBlock = streamed.firstChild;
  }
  const tags = [...new Set([...streamed.querySelectorAll('*')].map((n) => n.tagName))];
  return { mismatches, kept: firstBlock !== null && streamed.firstChild === firstBlock, tags };
}"""


def test_streamed_markdown_always_equals_rendering_the_whole_text(page, page_errors):
    page.goto(TEST_BASE + "/")
    result = page.evaluate(COMPARE, [TRICKY, "First paragraph"])
    assert result["mismatches"] == []
    assert result["kept"], "the finished heading is never rebuilt"
    assert page_errors.uncaught == []


def test_streamed_tables_lists_math_and_references_equal_the_whole_text(page, page_errors):
    page.goto(TEST_BASE + "/")
    result = page.evaluate(COMPARE, [RICH, "- outer"])
    assert result["mismatches"] == []
    assert result["kept"], "the finished table is never rebuilt"
    for tag in ("TABLE", "TH", "UL", "OL", "S", "INPUT", "IMG", "A", "H3", "BLOCKQUOTE"):
        assert tag in result["tags"], tag
    late = page.evaluate(COMPARE, [LATE_REFERENCE, "Intro."])
    assert late["mismatches"] == []
    assert "A" in late["tags"]
    assert page_errors.uncaught == []


def test_finished_paragraphs_stay_in_place_while_the_answer_streams(chat_page, fake_llm):
    errors = collect_errors(chat_page)
    paragraphs = [" ".join(f"p{n}w{i}" for i in range(12)) for n in range(6)]
    fake_llm.script(Reply.text("\n\n".join(paragraphs), delay=0.05))
    open_app(chat_page)
    say(chat_page, "Write six paragraphs")
    wait_for_partial(chat_page, "p1w0", "p5w11")
    chat_page.evaluate(
        "() => { window.firstParagraph = document.querySelector('.is-live .live-text p'); }"
    )

    wait_for_partial(chat_page, "p4w0", "p5w11")
    kept = chat_page.evaluate(
        "() => window.firstParagraph.isConnected"
        " && document.querySelector('.is-live .live-text p') === window.firstParagraph"
    )
    assert kept, "a finished paragraph is not rebuilt on every frame"
    answer = chat_page.locator("#messages .msg-assistant").last
    expect(answer.locator("p").last).to_have_text(paragraphs[-1], timeout=WAIT)
    expect(answer.locator("p")).to_have_count(6)
    assert errors.uncaught == []
