"""Markdown, as models write it, turned into Telegram's HTML and cut into messages.

Telegram refuses a message whose HTML it cannot parse, and one longer than 4,096 characters
(counted after the markup is parsed, in UTF-16 code units). So everything that is not
formatting is escaped, every tag opened is closed inside the same message, and long answers
are cut between paragraphs or code blocks where possible; a code block that must be cut is
closed and opened again, with its language, in the next message.

What is formatted: **bold**, *italic*, ~~strikethrough~~, `code`, fenced code blocks (with a
language), [links](https://…) to http and https addresses only, headings (shown bold),
> quotes, and list bullets (shown as "•"). Everything else is shown as written.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

MAX_MESSAGE = 4096
FENCE = re.compile(r"^\s*(```+|~~~+)\s*([\w+#.-]*)[^`]*$")
HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
BULLET = re.compile(r"^(\s*)[-*+]\s+(.*)$")
QUOTE = re.compile(r"^\s{0,3}>\s?(.*)$")
RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
LINK = re.compile(r"\[([^\]\n]+)\]\(\s*<?([^)\s>]+)>?\s*\)")
TAG = re.compile(r"<[^>]*>")
SPECIAL = re.compile(r"[`\[*_~]")
EMPHASIS = (("**", "b"), ("__", "b"), ("~~", "s"), ("*", "i"), ("_", "i"))


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def visible_length(markup: str) -> int:
    """The length Telegram counts: the text without tags, in UTF-16 code units."""
    text = html.unescape(TAG.sub("", markup))
    return len(text.encode("utf-16-le")) // 2


# ── inline formatting ───────────────────────────────────────────────────────────────────────


def inline(text: str, *, links: bool = True) -> str:
    """One line's inline Markdown as HTML. Formatting nests only inside a matched pair, so
    the tags always balance; an unmatched marker is shown as it is."""
    out: list[str] = []
    plain_from = i = 0
    while (special := SPECIAL.search(text, i)) is not None:
        i = special.start()
        found = _inline_at(text, i, links)
        if found is None:
            i += 1
            continue
        markup, end = found
        out += [escape(text[plain_from:i]), markup]
        i = plain_from = end
    out.append(escape(text[plain_from:]))
    return "".join(out)


def _inline_at(text: str, i: int, links: bool) -> tuple[str, int] | None:
    char = text[i]
    if char == "`":
        return _code_span(text, i)
    if char == "[" and links:
        return _link(text, i)
    if char in "*_~":
        return _emphasis(text, i, links)
    return None


def _code_span(text: str, i: int) -> tuple[str, int] | None:
    run = len(text[i:]) - len(text[i:].lstrip("`"))
    fence = "`" * run
    j = text.find(fence, i + run)
    while j != -1 and text[j + run : j + run + 1] == "`":
        j = text.find(fence, j + run + 1)
    if j == -1 or j == i + run:
        return None
    body = text[i + run : j]
    if body.startswith(" ") and body.endswith(" ") and body.strip():
        body = body[1:-1]
    return f"<code>{escape(body)}</code>", j + run


def _link(text: str, i: int) -> tuple[str, int] | None:
    match = LINK.match(text, i)
    if match is None:
        return None
    label, url = match.groups()
    shown = inline(label, links=False)
    if not url.lower().startswith(("http://", "https://")):
        return shown, match.end()
    return f'<a href="{html.escape(url, quote=True)}">{shown}</a>', match.end()


def _emphasis(text: str, i: int, links: bool) -> tuple[str, int] | None:
    for marker, tag in EMPHASIS:
        if not text.startswith(marker, i):
            continue
        close = _closing(text, i, marker)
        if close is None:
            return None
        inner = inline(text[i + len(marker) : close], links=links)
        return f"<{tag}>{inner}</{tag}>", close + len(marker)
    return None


def _closing(text: str, i: int, marker: str) -> int | None:
    """Where the marker opened at `i` closes: flanked by text on the inside, and for
    underscores not inside a word (snake_case stays as written)."""
    size = len(marker)
    start = i + size
    if start >= len(text) or text[start].isspace() or text[start] == marker[0]:
        return None
    if marker[0] == "_" and i > 0 and text[i - 1].isalnum():
        return None
    j = text.find(marker, start + 1)
    while j != -1:
        single_inside_double = size == 1 and (
            text[j + 1 : j + 2] == marker or text[j - 1] == marker
        )
        after = text[j + size : j + size + 1]
        word_after = marker[0] == "_" and after.isalnum()
        if not text[j - 1].isspace() and not single_inside_double and not word_after:
            return j
        j = text.find(marker, j + 1)
    return None


# ── blocks ──────────────────────────────────────────────────────────────────────────────────


@dataclass
class Block:
    """A paragraph (lines of text) or a fenced code block; rendered on its own, it is
    balanced HTML, so messages can be cut between blocks."""

    lines: list[str]
    code: bool = False
    language: str = ""

    def source(self) -> str:
        if not self.code:
            return "\n".join(self.lines)
        return "\n".join([f"```{self.language}", *self.lines, "```"])

    def render(self) -> str:
        if self.code:
            body = escape("\n".join(self.lines)) or " "
            if self.language:
                return f'<pre><code class="language-{self.language}">{body}</code></pre>'
            return f"<pre>{body}</pre>"
        return _render_lines(self.lines)

    def part(self, lines: list[str]) -> Block:
        return Block(lines, self.code, self.language)


def blocks(markdown: str) -> list[Block]:
    """Paragraphs and code blocks; an unclosed fence (a streaming answer) runs to the end."""
    found: list[Block] = []
    text: list[str] = []
    code: Block | None = None
    for line in markdown.replace("\r\n", "\n").split("\n"):
        fence = FENCE.match(line)
        if code is not None:
            if fence and not fence.group(2):
                found.append(code)
                code = None
            else:
                code.lines.append(line)
        elif fence:
            found += [Block(text)] if text else []
            text, code = [], Block([], code=True, language=fence.group(2))
        elif line.strip():
            text.append(line)
        elif text:
            found.append(Block(text))
            text = []
    if code is not None:
        found.append(code)
    elif text:
        found.append(Block(text))
    return found


def _render_lines(lines: list[str]) -> str:
    out: list[str] = []
    quoted: list[str] = []
    for line in lines:
        quote = QUOTE.match(line)
        if quote:
            quoted.append(_render_line(quote.group(1)))
            continue
        if quoted:
            out.append("<blockquote>" + "\n".join(quoted) + "</blockquote>")
            quoted = []
        out.append(_render_line(line))
    if quoted:
        out.append("<blockquote>" + "\n".join(quoted) + "</blockquote>")
    return "\n".join(out)


def _render_line(line: str) -> str:
    heading = HEADING.match(line)
    if heading:
        return f"<b>{escape(heading.group(1).replace('**', ''))}</b>"
    if RULE.match(line):
        return "──────────"
    bullet = BULLET.match(line)
    if bullet:
        indent, rest = bullet.groups()
        return f"{indent}• {inline(rest)}"
    return inline(line)


def to_html(markdown: str) -> str:
    return "\n\n".join(block.render() for block in blocks(markdown))


# ── cutting into messages ───────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Chunk:
    """One message: its HTML, and its Markdown to send as plain text should Telegram
    refuse the HTML."""

    html: str
    plain: str


def split_message(markdown: str, limit: int = MAX_MESSAGE) -> list[Chunk]:
    """The answer as messages that each fit `limit`, cut between blocks where possible.

    Visible lengths add up (blocks are joined by a blank line, lines by a newline, and tags
    count for nothing), so each block and line is measured once.
    """
    chunks: list[Chunk] = []
    current: list[Block] = []
    used = 0
    for block, size in _fitting_blocks(blocks(markdown), limit):
        if current and used + 2 + size > limit:
            chunks.append(_chunk(current))
            current, used = [], 0
        used += size + (2 if current else 0)
        current.append(block)
    if current:
        chunks.append(_chunk(current))
    return chunks


def _chunk(parts: list[Block]) -> Chunk:
    return Chunk("\n\n".join(b.render() for b in parts), "\n\n".join(b.source() for b in parts))


def _fitting_blocks(found: list[Block], limit: int) -> list[tuple[Block, int]]:
    """(block, visible length) with blocks cut by lines, then words, then characters, until
    each fits on its own."""
    out: list[tuple[Block, int]] = []
    for block in found:
        size = visible_length(block.render())
        out += [(block, size)] if size <= limit else _pack_lines(block, limit)
    return out


def _pack_lines(block: Block, limit: int) -> list[tuple[Block, int]]:
    lines: list[tuple[str, int]] = []
    for line in block.lines:
        size = _line_length(block, line)
        lines += [(line, size)] if size <= limit else _cut_line(block, line, limit)
    parts: list[tuple[Block, int]] = []
    current: list[str] = []
    used = 0
    for line, size in lines:
        if current and used + 1 + size > limit:
            parts.append((block.part(current), used))
            current, used = [], 0
        used += size + (1 if current else 0)
        current.append(line)
    if current:
        parts.append((block.part(current), used))
    return parts


def _line_length(block: Block, line: str) -> int:
    return visible_length(block.part([line]).render())


def _cut_line(block: Block, line: str, limit: int) -> list[tuple[str, int]]:
    """A line too long for one message, cut at spaces (or anywhere, in a long word)."""
    pieces: list[tuple[str, int]] = []
    rest = line
    while rest:
        size = _longest_fit(block, rest[: 2 * limit], limit)
        space = rest.rfind(" ", 0, size + 1) if size < len(rest) else -1
        cut = space if space > size // 2 else size
        pieces.append((rest[:cut], _line_length(block, rest[:cut])))
        rest = rest[cut:].lstrip(" ") if cut == space else rest[cut:]
    return pieces


def _longest_fit(block: Block, text: str, limit: int) -> int:
    low, high = 1, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if _line_length(block, text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return low
