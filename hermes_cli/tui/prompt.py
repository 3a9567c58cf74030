"""Reading the user's input: the message prompt (history kept across runs) and the one-key
answer to an approval request.

Ctrl+C at the prompt behaves as in common shells and REPLs: it clears the line; pressed
again right away, at an empty prompt, it quits. Ctrl+D at an empty prompt quits too.
Alt+Enter (or Esc, Enter) starts a new line inside the message.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from rich.console import Console

from hermes_cli.tui import render

PROMPT = FormattedText([("bold ansigreen", f"{render.USER_MARK} ")])
QUIT_HINT = "(Ctrl+C again or Ctrl+D to quit)"
APPROVAL_QUESTION = FormattedText(
    [("bold", "Allow? "), ("", "[o]nce / [s]ession / [a]lways / [d]eny ")]
)
APPROVAL_KEYS = {"o": "once", "y": "once", "s": "session", "a": "always", "d": "deny", "n": "deny"}
DENY_KEYS = ("c-c", "c-d", "escape")


class PromptReader:
    def __init__(self, history_path: Path, console: Console) -> None:
        self.console = console
        self.armed = False  # the last key was a Ctrl+C: one more at an empty prompt quits
        history_path.parent.mkdir(parents=True, exist_ok=True)
        self.session: PromptSession[str] = PromptSession(
            history=FileHistory(str(history_path)),
            key_bindings=self._bindings(),
            prompt_continuation="  ",
        )
        self.session.default_buffer.on_text_changed += self._typed

    def _bindings(self) -> KeyBindings:
        keys = KeyBindings()

        @keys.add("c-c")
        def _clear_or_quit(event: KeyPressEvent) -> None:
            buffer = event.current_buffer
            if buffer.text:
                buffer.reset()
                self.armed = True
            else:
                event.app.exit(exception=KeyboardInterrupt())

        @keys.add("escape", "enter")
        def _newline(event: KeyPressEvent) -> None:
            event.current_buffer.insert_text("\n")

        return keys

    def _typed(self, _buffer: Buffer) -> None:
        self.armed = False

    def read(self) -> str | None:
        """The next line the user sends; None when they quit."""
        while True:
            try:
                text = self.session.prompt(PROMPT)
            except EOFError:
                return None
            except KeyboardInterrupt:
                if self.armed:
                    return None
                self.armed = True
                render.notice(self.console, QUIT_HINT)
                continue
            self.armed = False
            return text

    def ask_approval(self) -> str:
        """One key: the choice for `approval.respond`. Ctrl+C, Ctrl+D and Esc deny."""
        keys = KeyBindings()
        for key, choice in APPROVAL_KEYS.items():
            keys.add(key)(_exit_with(choice))
            keys.add(key.upper())(_exit_with(choice))
        for key in DENY_KEYS:
            keys.add(key)(_exit_with("deny"))
        keys.add("<any>")(_ignore)
        keys.add("enter")(_ignore)
        return PromptSession(key_bindings=keys).prompt(APPROVAL_QUESTION)


def _exit_with(choice: str) -> Callable[[KeyPressEvent], None]:
    def handler(event: KeyPressEvent) -> None:
        event.app.exit(result=choice)

    return handler


def _ignore(_event: KeyPressEvent) -> None:
    """Other keys do nothing: the question takes exactly one of its keys."""
