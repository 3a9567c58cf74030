"""Rendering streamed Markdown answers for terminal clients, block by block."""

from __future__ import annotations

import re

from tui_gateway.render import make_stream_renderer, render_message

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def plain(text: str | None) -> str:
    return ANSI.sub("", text or "")


def test_a_delta_that_ends_no_block_is_not_rendered():
    renderer = make_stream_renderer(40)
    assert renderer.feed("Hello ") is None
    assert renderer.feed("**there**") is None
    rendered = renderer.feed("\n\n")
    assert plain(rendered).split("\n")[0].rstrip() == "Hello there"
    assert "\x1b[1mthere" in rendered


def test_a_code_block_is_rendered_once_its_fence_closes():
    renderer = make_stream_renderer(40)
    assert renderer.feed("```python\n") is None
    assert renderer.feed("x = 1\n") is None
    rendered = renderer.feed("```\nAfter")
    assert "x = 1" in plain(rendered)
    assert "```" not in plain(rendered)
    assert renderer.feed(" the code.") is None


def test_headings_and_list_blocks_render_as_markdown():
    renderer = make_stream_renderer(40)
    out = [renderer.feed(piece) for piece in ("# Plan\n", "- one\n- two\n", "\nDone\n\n")]
    heading, nothing, rest = out
    assert plain(heading).strip() == "Plan"
    assert nothing is None  # the list goes on until a blank line
    assert [line.strip() for line in plain(rest).splitlines() if line.strip()] == [
        "• one",
        "• two",
        "Done",
    ]


def test_a_whole_message_wraps_at_the_width_given():
    text = "word " * 30
    lines = plain(render_message(text, 30)).splitlines()
    assert len(lines) > 3
    assert all(len(line) <= 30 for line in lines)
