"""Markdown → Telegram HTML, and long answers cut into messages. Every output is checked by
the fake Bot API's HTML parser, which refuses what Telegram refuses."""

from __future__ import annotations

import random

import pytest

from gateway.platforms.telegram_format import MAX_MESSAGE, split_message, to_html
from tests.fakes.telegram_html import parse_html, utf16_len


def telegram_text(html: str) -> str:
    """What the person sees, as Telegram parses it (raises on HTML Telegram refuses)."""
    return parse_html(html).text


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        ("<script>alert(1)</script> & co", "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"),
        ("**bold** and __bold__", "<b>bold</b> and <b>bold</b>"),
        ("*italic* and _italic_", "<i>italic</i> and <i>italic</i>"),
        ("~~gone~~", "<s>gone</s>"),
        ("`a < b`", "<code>a &lt; b</code>"),
        ("*a **b** c*", "<i>a <b>b</b> c</i>"),
        ("snake_case_name and 2 * 3 * 4", "snake_case_name and 2 * 3 * 4"),
        ("**unclosed and *also", "**unclosed and *also"),
        ("[docs](https://example.org/a?b=1&c=2)", '<a href="https://example.org/a?b=1&amp;c=2">docs</a>'),
        ("[click](javascript:alert)", "click"),
        ("[**bold link**](http://x.y)", '<a href="http://x.y"><b>bold link</b></a>'),
        ("## A heading", "<b>A heading</b>"),
        ("- one\n* two\n  + nested", "• one\n• two\n  • nested"),
        ("1. first\n2. second", "1. first\n2. second"),
        ("> quoted *text*\n> more", "<blockquote>quoted <i>text</i>\nmore</blockquote>"),
        ("```python\nif a<b:\n```", '<pre><code class="language-python">if a&lt;b:</code></pre>'),
        ("```\nplain\n```", "<pre>plain</pre>"),
        ("```js\nstreaming <", '<pre><code class="language-js">streaming &lt;</code></pre>'),
        ("one\n\n\n\ntwo", "one\n\ntwo"),
    ],
)  # fmt: skip
def test_markdown_becomes_telegram_html(markdown, html):
    assert to_html(markdown) == html
    telegram_text(html)


def test_any_mix_of_markers_gives_html_telegram_accepts():
    pieces = ["**", "*", "_", "__", "~~", "`", "```", "[a](http://x)", "[b](", "<", ">", "&",
              "word", " ", "\n", "\n\n", "# ", "- ", "> ", "snake_case", "(", ")", "]"]  # fmt: skip
    rng = random.Random(20250101)
    for _ in range(2000):
        markdown = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 30)))
        html = to_html(markdown)
        if html.strip():
            telegram_text(html)


def test_a_6000_character_answer_is_two_messages_cut_between_paragraphs():
    paragraphs = [f"Paragraph {i}. " + "words and more words " * 45 for i in range(6)]
    answer = "\n\n".join(p.strip() for p in paragraphs)
    chunks = split_message(answer)
    assert len(chunks) == 2
    seen = [telegram_text(chunk.html) for chunk in chunks]
    assert all(utf16_len(text) <= MAX_MESSAGE for text in seen)
    assert "\n\n".join(seen) == answer


def test_a_long_code_block_is_closed_and_reopened_with_its_language():
    code = "\n".join(f"value_{i} = {i} < {i + 1}" for i in range(400))
    chunks = split_message(f"Here:\n\n```python\n{code}\n```\n\nDone.")
    assert len(chunks) >= 3
    for chunk in chunks:
        assert utf16_len(telegram_text(chunk.html)) <= MAX_MESSAGE
    code_chunks = [c for c in chunks if "<pre>" in c.html]
    assert all('<pre><code class="language-python">' in c.html for c in code_chunks)
    shown = "\n".join(telegram_text(c.html) for c in chunks)
    assert all(f"value_{i} = {i} < {i + 1}" in shown for i in range(400))


def test_a_single_huge_line_is_cut_at_spaces_and_escaping_counts_as_one_character():
    line = " ".join(["a&b<c>"] * 3000)
    chunks = split_message(line)
    texts = [telegram_text(chunk.html) for chunk in chunks]
    assert all(utf16_len(text) <= MAX_MESSAGE for text in texts)
    assert all(text.startswith("a&b<c>") and text.endswith("a&b<c>") for text in texts)
    assert " ".join(texts) == line
    assert len(chunks) == -(-len(line) // MAX_MESSAGE)


def test_a_word_longer_than_a_message_is_cut_anywhere():
    chunks = split_message("x" * 10_000)
    assert [len(telegram_text(c.html)) for c in chunks] == [4096, 4096, 1808]


def test_emoji_count_as_two_utf16_units_towards_the_limit():
    chunks = split_message("😀" * 3000)
    assert all(utf16_len(telegram_text(c.html)) <= MAX_MESSAGE for c in chunks)
    assert "".join(telegram_text(c.html) for c in chunks) == "😀" * 3000


def test_the_plain_fallback_of_a_chunk_is_its_markdown():
    [chunk] = split_message("**bold** text")
    assert chunk.plain == "**bold** text"
