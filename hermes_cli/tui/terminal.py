"""The terminal's echo and line editing, turned off while output streams.

Between prompts the terminal would be in its normal (cooked) mode: a key typed while an
answer streams, or the `^C` of an interrupt, would be echoed into the middle of the live
region and leave a stray line behind, and a Ctrl+D would be taken by the terminal as an end
of input that no prompt ever sees. With echo and line editing off, keys typed meanwhile
(Ctrl+D included) wait in the terminal's input, as they are, for the next prompt; Ctrl+C
still raises SIGINT. prompt_toolkit saves and restores the mode around each prompt, so an
approval question inside a turn leaves it as it was.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

try:
    import termios
except ImportError:  # not a POSIX terminal: nothing to turn off
    termios = None  # type: ignore[assignment]


@contextlib.contextmanager
def typing_held() -> Iterator[None]:
    fd = _tty_fd()
    if fd is None:
        yield
        return
    saved = termios.tcgetattr(fd)
    quiet = list(saved)
    quiet[3] &= ~(termios.ECHO | termios.ECHOCTL | termios.ICANON)
    termios.tcsetattr(fd, termios.TCSANOW, quiet)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)


def _tty_fd() -> int | None:
    if termios is None:
        return None
    try:
        fd = sys.stdin.fileno()
        termios.tcgetattr(fd)
    except (OSError, ValueError, termios.error):
        return None
    return fd
