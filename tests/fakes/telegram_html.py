"""Telegram's HTML parse mode, checked the way the Bot API checks it.

``parse_html`` turns the ``text`` of a message sent with ``parse_mode=HTML`` into what
Telegram stores: the plain text and its entities (offsets and lengths in UTF-16 code units,
as the Bot API counts them). Markup Telegram refuses raises ``EntityError`` with the
explanation that follows "Bad Request: can't parse entities: " in the API's reply.

The allowed tags are those of the Bot API's formatting options: b, strong, i, em, u, ins, s,
strike, del, span class="tg-spoiler", tg-spoiler, a href, tg-emoji emoji-id, code, pre,
pre > code class="language-x", and blockquote (optionally ``expandable``). Entities are
&lt; &gt; &amp; &quot; and numeric references; a bare ``<`` or ``&`` is refused.

Two checks are stricter than Telegram, which silently drops the offending formatting
instead: a tag inside code or pre (other than pre's own code), and a blockquote inside a
blockquote or a link inside a link. Either is a formatting bug in whatever produced the HTML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser

__all__ = ["EntityError", "ParsedText", "parse_html", "utf16_len"]

_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
}
_ATTRIBUTE_TAGS = {
    # tag: (the attribute it needs, the value it must have or None, entity type, entity field)
    "span": ("class", "tg-spoiler", "spoiler", None),
    "a": ("href", None, "text_link", "url"),
    "tg-emoji": ("emoji-id", None, "custom_emoji", "custom_emoji_id"),
}
_OTHER_TAGS = frozenset({*_ATTRIBUTE_TAGS, "code", "pre", "blockquote"})
_ENTITY_RE = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")
_LANGUAGE_RE = re.compile(r"language-(\S+)")


class EntityError(ValueError):
    """HTML that Telegram refuses; the message is Telegram's explanation."""


@dataclass
class ParsedText:
    """A message's plain text and its entities, as Telegram returns them in a Message."""

    text: str
    entities: list[dict] = field(default_factory=list)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of the Bot API's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def parse_html(source: str) -> ParsedText:
    """Parse ``source`` as Telegram's HTML; raises ``EntityError`` for refused markup."""
    _check_entities(source)
    parser = _TelegramHTML(source)
    parser.feed(source)
    parser.close()
    if parser.open_tags:
        tag = parser.open_tags[-1][0]
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{tag}"')
    return ParsedText(parser.text, sorted(parser.entities, key=lambda e: e["offset"]))


def _entity_from_attribute(tag: str, attrs: dict[str, str | None]) -> dict:
    """The entity of a tag that means nothing without its attribute."""
    name, required, kind, key = _ATTRIBUTE_TAGS[tag]
    value = attrs.get(name)
    if not value or (required is not None and value != required):
        wanted = f'"{name}" set to "{required}"' if required else f'a non-empty "{name}"'
        raise EntityError(f'Tag "{tag}" must have attribute {wanted}')
    return {"type": kind} if key is None else {"type": kind, key: value}


def _check_entities(source: str) -> None:
    """Every ``&`` must start one of the entities Telegram knows."""
    for match in re.finditer("&", source):
        if not _ENTITY_RE.match(source, match.start()):
            offset = len(source[: match.start()].encode())
            raise EntityError(
                f'Unsupported HTML entity or unescaped "&" at byte offset {offset}: '
                "only &lt; &gt; &amp; &quot; and numeric entities are supported"
            )


class _TelegramHTML(HTMLParser):
    """Collects plain text and entities, raising ``EntityError`` at the first refused tag."""

    def __init__(self, source: str) -> None:
        # Entities reach handle_entityref/handle_charref, so a "<" in data is a bare one.
        super().__init__(convert_charrefs=False)
        self.source = source
        self.text = ""
        self.entities: list[dict] = []
        self.open_tags: list[tuple[str, int, dict]] = []
        """(tag, UTF-16 offset where it opened, the entity it makes) for each open tag."""

    def _byte_offset(self) -> int:
        """Where the parser is, in bytes of UTF-8 as Telegram reports positions."""
        line, column = self.getpos()
        lines = self.source.split("\n")
        before = "".join(text + "\n" for text in lines[: line - 1]) + lines[line - 1][:column]
        return len(before.encode())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _SIMPLE_TAGS and tag not in _OTHER_TAGS:
            raise EntityError(f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}')
        self._check_nesting(tag)
        entity = self._entity_for(tag, dict(attrs))
        self.open_tags.append((tag, utf16_len(self.text), entity))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise EntityError(f'Unsupported start tag "{tag}/" at byte offset {self._byte_offset()}')

    def handle_endtag(self, tag: str) -> None:
        if not self.open_tags:
            raise EntityError(f'Unexpected end tag "{tag}" at byte offset {self._byte_offset()}')
        expected, start, entity = self.open_tags.pop()
        if tag != expected:
            raise EntityError(
                f"Unmatched end tag at byte offset {self._byte_offset()}, "
                f'expected "</{expected}>", found "</{tag}>"'
            )
        length = utf16_len(self.text) - start
        if length and entity:
            self.entities.append({**entity, "offset": start, "length": length})

    def handle_data(self, data: str) -> None:
        if "<" in data:
            raise EntityError(f"Unclosed start tag at byte offset {self._byte_offset()}")
        self.text += data

    def handle_entityref(self, name: str) -> None:
        self.text += unescape(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.text += unescape(f"&#{name};")

    def handle_comment(self, data: str) -> None:
        raise EntityError(f'Unsupported start tag "!--" at byte offset {self._byte_offset()}')

    def handle_decl(self, decl: str) -> None:
        raise EntityError(f'Unsupported start tag "!{decl}" at byte offset {self._byte_offset()}')

    def handle_pi(self, data: str) -> None:
        raise EntityError(f'Unsupported start tag "?{data}" at byte offset {self._byte_offset()}')

    def unknown_decl(self, data: str) -> None:
        raise EntityError(f'Unsupported start tag "![{data}" at byte offset {self._byte_offset()}')

    def _entity_for(self, tag: str, attrs: dict[str, str | None]) -> dict:
        """The entity a tag makes; an empty dict for pre's inner code, which only names a
        language."""
        if tag in _SIMPLE_TAGS:
            return {"type": _SIMPLE_TAGS[tag]}
        if tag in _ATTRIBUTE_TAGS:
            return _entity_from_attribute(tag, attrs)
        if tag == "blockquote":
            return {"type": "expandable_blockquote" if "expandable" in attrs else "blockquote"}
        if tag == "code" and self.open_tags and self.open_tags[-1][0] == "pre":
            self._name_language(attrs.get("class"))
            return {}
        return {"type": tag}

    def _name_language(self, css_class: str | None) -> None:
        """``<pre><code class="language-x">`` gives the enclosing pre entity a language."""
        match = _LANGUAGE_RE.fullmatch(css_class or "")
        if match:
            self.open_tags[-1][2]["language"] = match.group(1)

    def _check_nesting(self, tag: str) -> None:
        """Refuse what Telegram would drop: markup in code, quotes in quotes, links in links."""
        language = tag == "code" and bool(self.open_tags) and self.open_tags[-1][0] == "pre"
        for outer, _, _ in self.open_tags:
            in_code = outer in ("code", "pre") and not language
            if in_code or (outer == tag and tag in ("blockquote", "a")):
                raise EntityError(f'Tag "{tag}" can\'t be nested in "{outer}"')
