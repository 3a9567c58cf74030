"""Reply markup as the Bot API accepts it: an inline keyboard, or one of the reply keyboards.

Only inline keyboards belong to the message (Telegram echoes them in the Message object and
they can be edited); the others change the user's keyboard and are just recorded.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MarkupError", "check_reply_markup", "inline_keyboard"]

_MARKUP_KINDS = ("inline_keyboard", "keyboard", "remove_keyboard", "force_reply")
_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "copy_text",
    "web_app",
    "login_url",
    "pay",
)
MAX_CALLBACK_DATA = 64


class MarkupError(ValueError):
    """Markup Telegram refuses; the message is what follows "Bad Request: " in its reply."""


def check_reply_markup(markup: Any) -> dict | None:
    """The markup if Telegram would accept it; otherwise ``MarkupError``."""
    if markup is None:
        return None
    if not isinstance(markup, dict) or not any(kind in markup for kind in _MARKUP_KINDS):
        raise MarkupError("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise MarkupError('field "inline_keyboard" must be an Array of Arrays')
    for button in (button for row in rows for button in row):
        _check_button(button)
    return markup


def _check_button(button: Any) -> None:
    if not isinstance(button, dict) or not button.get("text"):
        raise MarkupError("can't parse inline keyboard button: Text must be non-empty")
    actions = [name for name in _BUTTON_ACTIONS if name in button]
    if len(actions) != 1:
        raise MarkupError(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in button:
        data = str(button["callback_data"]).encode()
        if not 1 <= len(data) <= MAX_CALLBACK_DATA:
            raise MarkupError("BUTTON_DATA_INVALID")
    if "url" in button and not str(button["url"]).startswith(("http://", "https://", "tg://")):
        raise MarkupError(f"inline keyboard button URL '{button['url']}' is invalid")


def inline_keyboard(markup: dict | None) -> list | None:
    """The inline keyboard rows of a markup; None when it has none (or they are empty)."""
    rows = (markup or {}).get("inline_keyboard")
    return rows or None
