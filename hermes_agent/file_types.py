"""What a file is, told from its bytes: the name and the sender's word are never trusted.

Raster images are what Pillow can open as PNG, JPEG, GIF or WebP, within a pixel budget (a
small file can declare a huge image: a decompression bomb). Text is valid UTF-8 without NUL
bytes; only then does the name's extension pick the kind of text. PDFs start with `%PDF-`.
Everything else is an opaque download. SVG and HTML are text here: never served as markup.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

from hermes_agent.errors import BadRequest

MAX_IMAGE_PIXELS = 40_000_000
TEXT_SAMPLE_BYTES = 1 << 20
RASTER_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
TEXT_TYPES = {
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".csv": "text/csv",
    ".json": "application/json",
}
OPAQUE = "application/octet-stream"
PDF = "application/pdf"


@dataclass(frozen=True)
class Sniffed:
    mime: str
    is_image: bool = False
    width: int | None = None
    height: int | None = None

    @property
    def is_text(self) -> bool:
        return self.mime.startswith("text/") or self.mime == "application/json"


def sniff(path: Path, filename: str) -> Sniffed:
    """The file's type from its content; BadRequest for an image too large to decode safely."""
    with open(path, "rb") as f:
        return sniff_file(f, filename)


def sniff_file(f: BinaryIO, filename: str) -> Sniffed:
    """The same for a file already open (and seekable), so a caller that opened it safely
    sniffs exactly what it will serve; the position is back at the start afterwards."""
    image = _raster(f)
    f.seek(0)
    if image is not None:
        return image
    head = f.read(TEXT_SAMPLE_BYTES)
    f.seek(0)
    if head.startswith(b"%PDF-"):
        return Sniffed(PDF)
    if _is_text(head, complete=len(head) < TEXT_SAMPLE_BYTES):
        return Sniffed(_text_type(filename))
    return Sniffed(OPAQUE)


def _raster(f: BinaryIO) -> Sniffed | None:
    try:
        with Image.open(f) as image:
            kind = RASTER_TYPES.get(image.format or "")
            if kind is None:
                return None
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise BadRequest(
                    f"image too large to accept: {width}×{height} pixels "
                    f"(limit {MAX_IMAGE_PIXELS // 1_000_000} megapixels)"
                )
            image.verify()  # a truncated or corrupt body fails here, not in a thumbnail later
    except Image.DecompressionBombError:
        raise BadRequest("image too large to accept (it decompresses to too many pixels)") from None
    except (UnidentifiedImageError, OSError, SyntaxError):
        return None
    return Sniffed(kind, True, width, height)


def _is_text(data: bytes, *, complete: bool) -> bool:
    if b"\0" in data:
        return False
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(data, final=complete)  # a sample may end inside a character
    except UnicodeDecodeError:
        return False
    return True


def _text_type(filename: str) -> str:
    return TEXT_TYPES.get(Path(filename).suffix.lower(), "text/plain")
