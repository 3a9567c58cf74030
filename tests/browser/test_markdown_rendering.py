"""Markdown in answers as the best chat apps show it: GFM tables, nested lists, strikethrough,
task lists, links that open in a new tab, our own attachment images, and KaTeX math."""

from __future__ import annotations

import base64

from playwright.sync_api import expect

from tests.browser.markdown_support import BOX, foreign_requests, open_answer, render
from tests.conftest import TEST_BASE

PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def test_tables_render_as_tables_with_column_alignment(page, page_errors):
    render(
        page,
        "| Fruit | Qty | Price |\n|:------|:---:|------:|\n"
        "| apple | 2 | 1.50 |\n| pear | 10 | 0.75 |",
    )
    table = page.locator(f"{BOX} table")
    expect(table).to_have_count(1)
    assert table.locator("thead th").all_inner_texts() == ["Fruit", "Qty", "Price"]
    assert table.locator("tbody tr").count() == 2
    aligns = (
        table.locator("tbody tr")
        .first.locator("td")
        .evaluate_all("cells => cells.map((c) => getComputedStyle(c).textAlign)")
    )
    assert aligns == ["left", "center", "right"]
    assert "|" not in page.locator(BOX).inner_text()
    assert page_errors.uncaught == []


def test_nested_lists_nest(page):
    render(
        page,
        "- fruit\n  - apple\n    - green\n- veg\n\n1. one\n   1. one-a\n2. two\n\n"
        "Then:\n\n3. three\n4. four",
    )
    box = page.locator(BOX)
    expect(box.locator("ul > li > ul > li > ul > li")).to_have_text("green")
    assert box.locator(":scope > ul > li").count() == 2
    assert box.locator("ol > li > ol > li").inner_text() == "one-a"
    lists = box.locator(":scope > ol")
    assert lists.first.locator(":scope > li").count() == 2
    assert lists.first.get_attribute("start") is None, "a list from 1 counts from 1"
    assert lists.last.get_attribute("start") == "3"


def test_strikethrough_and_task_lists(page):
    render(page, "Price: ~~10~~ 8\n\n- [x] pack the tent\n- [ ] check the forecast")
    box = page.locator(BOX)
    expect(box.locator("s, del")).to_have_text("10")
    boxes = box.locator("li input[type=checkbox]")
    expect(boxes).to_have_count(2)
    assert [boxes.nth(0).is_checked(), boxes.nth(1).is_checked()] == [True, False]
    assert all(boxes.nth(n).is_disabled() for n in range(2)), "a rendered task is not a control"
    assert box.locator("li").all_inner_texts() == ["pack the tent", "check the forecast"]


def test_links_open_in_a_new_tab_without_referrer_and_file_names_stay_text(page):
    render(
        page,
        "See [the site](https://example.com/a), <https://example.org/b>, "
        "https://example.net/c and [mail](mailto:me@example.com).\n\n"
        "Edit README.md and main.py.",
    )
    links = page.locator(f"{BOX} a")
    expect(links).to_have_count(4)
    hrefs = links.evaluate_all("as => as.map((a) => a.href)")
    assert hrefs == [
        "https://example.com/a",
        "https://example.org/b",
        "https://example.net/c",
        "mailto:me@example.com",
    ]
    for n in range(4):
        assert links.nth(n).get_attribute("target") == "_blank"
        assert links.nth(n).get_attribute("rel") == "noopener noreferrer nofollow"


def test_only_attachment_images_are_shown_and_remote_images_are_never_fetched(page, page_errors):
    served: list[str] = []

    def attachment(route):
        served.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=PIXEL)

    page.route("**/api/attachment/**", attachment)
    foreign = foreign_requests(page)
    render(
        page,
        "![chart](/api/attachment/s1/chart.png)\n\n"
        "![a cat](https://images.example.com/cat.png)\n\n"
        "![relative](../secret.png) ![protocol](//cdn.example.com/x.png)\n\n"
        f"![pixel](data:image/png;base64,{base64.b64encode(PIXEL).decode()})",
    )
    box = page.locator(BOX)
    images = box.locator("img")
    expect(images).to_have_count(1)
    assert images.get_attribute("alt") == "chart"
    assert images.evaluate("img => new URL(img.src).pathname") == "/api/attachment/s1/chart.png"
    page.wait_for_function("() => document.querySelector('#rendered img').complete")
    assert served == [TEST_BASE + "/api/attachment/s1/chart.png"]

    remote = box.get_by_role("link", name="a cat")
    assert remote.get_attribute("href") == "https://images.example.com/cat.png"
    page.wait_for_timeout(300)
    assert foreign == [], "a remote image is never fetched"
    assert page_errors.uncaught == []


def test_inline_and_display_math_render_with_katex(page, page_errors):
    render(
        page,
        "The area is $x^2$ here.\n\n$$\\int_0^1 x\\,dx$$\n\nand\n\n$$\n\\frac{a}{b}\n$$\n",
    )
    box = page.locator(BOX)
    expect(box.locator(".katex")).to_have_count(3)
    expect(box.locator(".katex-display")).to_have_count(2)
    inline = box.locator("p .katex").first
    assert inline.locator("annotation").text_content() == "x^2"
    display = box.locator(".katex-display annotation").all_text_contents()
    assert display == ["\\int_0^1 x\\,dx", "\\frac{a}{b}"]
    assert page_errors.uncaught == [] and page_errors.console == []


def test_backslash_delimiters_are_math_and_escaped_brackets_stay_text(page):
    render(page, "Inline \\(a^2\\) and \\[1\\] cited.\n\n\\[\nb^2 + c\n\\]\n\nAfter.")
    box = page.locator(BOX)
    expect(box.locator(".katex")).to_have_count(2)
    expect(box.locator(".katex-display")).to_have_count(1)
    assert box.locator(".katex-display annotation").text_content() == "b^2 + c"
    assert box.locator("p").first.inner_text().endswith("and [1] cited.")
    assert box.locator("p").last.inner_text() == "After."


def test_dollar_amounts_in_prose_stay_text(page):
    prose = "It costs $5 and $10, or $20 with tax."
    render(page, f"{prose}\n\nBut $y$ is a variable, and so is \\$z\\$ not.")
    box = page.locator(BOX)
    expect(box.locator(".katex")).to_have_count(1)
    assert box.locator("p").first.inner_text() == prose
    assert box.locator("p").nth(1).inner_text().endswith("and so is $z$ not.")


def test_invalid_tex_shows_an_error_span_and_the_rest_renders(page, page_errors):
    render(page, "Bad: $\\frac{1}{$ and $\\notacommand{x}$.\n\nGood: $a+b$\n\n$$\\left( x$$")
    box = page.locator(BOX)
    expect(box.locator(".katex")).to_have_count(2)
    errors = box.locator(".katex-error")
    expect(errors).to_have_count(2)
    assert errors.first.inner_text() == "\\frac{1}{"
    assert errors.last.inner_text() == "\\left( x"
    unknown = box.locator(".katex").first.locator(".katex-html")
    assert "\\notacommand" in unknown.inner_text(), "an unknown command is shown, in red"
    assert "ParseError" in (errors.first.get_attribute("title") or "")
    assert page_errors.uncaught == []


def test_math_in_an_answer_loads_katex_fonts_from_this_server_only(page, cleanup_test_sessions):
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    foreign = foreign_requests(page)
    open_answer(page, cleanup_test_sessions, "Euler: $e^{i\\pi} + 1 = 0$")
    expect(page.locator("#messages .katex")).to_have_count(1)
    page.wait_for_function("() => document.fonts.status === 'loaded'")
    fonts = page.evaluate(
        "() => [...document.fonts].filter((f) => f.status === 'loaded').map((f) => f.family)"
    )
    assert any(family.startswith("KaTeX") for family in fonts)
    assert failed == [] and foreign == []


LONG_ANSWER = "\n".join(
    line
    for n in range(250)
    for line in (
        f"## Part {n}",
        "",
        f"Paragraph {n} with **bold**, `code`, $x_{n}^2$ and a [link](https://example.com/{n}).",
        "",
        f"- item {n}\n  - nested {n}",
        "",
        f"| a | b |\n|---|--:|\n| {n} | {n * 2} |",
        "",
    )
)


def test_a_2000_line_answer_renders_and_streams_in_a_few_seconds(page, page_errors):
    """Not a benchmark: a guard against pathological (quadratic) rendering."""
    assert LONG_ANSWER.count("\n") >= 2000
    page.goto(TEST_BASE + "/")
    timings = page.evaluate(
        """async (text) => {
          const { renderMarkdown, markdownStream } = await import('/static/js/markdown.js');
          const whole = document.createElement('div');
          let started = performance.now();
          whole.append(renderMarkdown(text));
          const once = performance.now() - started;
          const streamed = document.createElement('div');
          const update = markdownStream(streamed);
          started = performance.now();
          for (let end = 0; end < text.length;) {
            end = Math.min(text.length, end + 40);
            update(text.slice(0, end));
          }
          const stream = performance.now() - started;
          return { once, stream, same: whole.innerHTML === streamed.innerHTML,
                   tables: streamed.querySelectorAll('table').length };
        }""",
        LONG_ANSWER,
    )
    assert timings["tables"] == 250
    assert timings["same"]
    assert timings["once"] < 5_000, timings
    assert timings["stream"] < 10_000, timings
    assert page_errors.uncaught == []
