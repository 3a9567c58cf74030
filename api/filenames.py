"""Names for downloaded files: a conversation's title made safe for every file system, and the
`Content-Disposition` header that offers it.

A safe name has no path separators, no characters Windows refuses (`<>:"/\\|?*`), no control
or format characters, no leading or trailing dots and spaces, is not a name Windows reserves
for a device (`CON`, `COM1`, …) and is short enough for any file system.
When nothing of the title is left, the name falls back to `hermes-<id>`. The header carries an
ASCII `filename` for old clients and, when the name is not ASCII, the exact name as RFC 5987
`filename*`, which browsers prefer.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from api.models import UNTITLED

STEM_MAX = 100
STEM_MAX_BYTES = 200
"""Characters, and bytes of UTF-8, before the extension: file systems take 255 bytes."""
_FORBIDDEN = re.compile(r'[<>:"/\\|?*]')
_JOINERS = "\u200c\u200d"
_RESERVED = re.compile(r"(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?", re.IGNORECASE)


def export_filename(title: str, session_id: str, suffix: str) -> str:
    """`<title>.<suffix>` made safe, or `hermes-<id>.<suffix>` for an untitled session."""
    stem = safe_stem(title) if title != UNTITLED else ""
    return f"{stem or f'hermes-{session_id}'}.{suffix}"


def safe_stem(text: str) -> str:
    """`text` as the part of a file name before its extension; "" when nothing is left."""
    kept = "".join(" " if _unsafe(char) else char for char in _FORBIDDEN.sub(" ", text))
    stem = _trim(" ".join(kept.split()))
    if _RESERVED.fullmatch(stem):
        stem += "_"
    return stem


def _unsafe(char: str) -> bool:
    """Control, format (e.g. right-to-left overrides), surrogate and unassigned characters;
    but the zero-width joiners that join emoji and letters of some scripts stay."""
    return unicodedata.category(char) in {"Cc", "Cf", "Cs", "Co", "Cn"} and char not in _JOINERS


def _trim(stem: str) -> str:
    stem = stem.strip(" .")[:STEM_MAX]
    while len(stem.encode()) > STEM_MAX_BYTES:
        stem = stem[:-1]
    return stem.strip(" ." + _JOINERS)


def content_disposition(filename: str, fallback: str, kind: str = "attachment") -> str:
    """A Content-Disposition header (`kind` attachment or inline) offering `filename`;
    `fallback` names it where only ASCII goes and nothing of the name is left."""
    stem, dot, suffix = filename.rpartition(".")
    if not dot:
        stem, suffix = filename, ""
    plain = safe_stem(_ascii(stem))
    extension = safe_stem(_ascii(suffix))
    ascii_name = (plain + (f".{extension}" if extension else "")) if plain else fallback
    header = f'{kind}; filename="{ascii_name}"'
    if filename != ascii_name:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return header


def _ascii(text: str) -> str:
    """Letters without their accents (é → e), and nothing that has no ASCII form."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
