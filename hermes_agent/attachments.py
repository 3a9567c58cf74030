"""The attachment store: files people attach to messages, kept once each, by content.

Under `$HERMES_HOME/attachments/` (outside every workspace): `blobs/<sha256>` holds the bytes
and `blobs/<sha256>.json` what was learnt of them (type sniffed from the bytes, size, image
size, the first name given, and which conversations refer to it). An upload streams to a
temp file in `incoming/` while it is hashed, so no file is ever held whole in memory; the
metadata is written before the blob is renamed into place, and only a blob with both is
served, so a kill mid-upload never leaves a partial file to serve. The same bytes uploaded
twice are stored once. A file no conversation refers to any more is removed; one uploaded
but never sent is removed a day later. Web, terminal and chat gateways share the store, so
reference changes hold an exclusive lock on the store's lock file.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
from PIL import Image

from hermes_agent.durable import atomic_write, fsync_dir, remove_stale_temp_files, temp_path_for
from hermes_agent.errors import BadRequest, NotFound, PayloadTooLarge
from hermes_agent.file_types import sniff

MAX_FILE_BYTES = 25 * 1024 * 1024
MAX_PER_MESSAGE = 10
UNSENT_GRACE_SECONDS = 86400
THUMBNAIL_PIXELS = 320
ID_PATTERN = re.compile(r"^[0-9a-f]{64}$")
_NAME_JUNK = re.compile(r"[\x00-\x1f\x7f/\\]+")


@dataclass(frozen=True)
class Attachment:
    """One stored file, as uploads return it and messages refer to it."""

    id: str
    filename: str
    size: int
    mime: str
    is_image: bool
    width: int | None = None
    height: int | None = None

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        return {k: v for k, v in data.items() if v is not None}


@dataclass
class _Meta:
    attachment: Attachment
    created: float
    sessions: list[str] = field(default_factory=list)


def clean_filename(name: str | None) -> str:
    """A name safe to show and to offer for download: no path, no control characters."""
    base = _NAME_JUNK.sub(" ", (name or "").replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    return base[:200] or "file"


class AttachmentStore:
    def __init__(self, root: Path, *, max_bytes: int = MAX_FILE_BYTES) -> None:
        self.root = root
        self.blobs = root / "blobs"
        self.incoming = root / "incoming"
        self.thumbs = root / "thumbnails"
        self.max_bytes = max_bytes
        for folder in (self.blobs, self.incoming, self.thumbs):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        remove_stale_temp_files(self.incoming)

    # -- adding ----------------------------------------------------------------------------

    def upload(self, filename: str | None) -> Upload:
        """An upload to write chunks to: `finish()` stores it, `discard()` forgets it."""
        return Upload(self, clean_filename(filename))

    def add_bytes(self, data: bytes, filename: str | None) -> Attachment:
        """Store `data` (already in memory, e.g. from a chat platform's download)."""
        return self._add([data], filename)

    def add_file(self, path: Path) -> Attachment:
        """Store a copy of the local file at `path` (the terminal's /attach), read in chunks.
        BadRequest when it is not a readable file."""
        try:
            with open(path, "rb") as f:
                if not path.is_file():
                    raise BadRequest(f"{path} is not a file")
                return self._add(iter(lambda: f.read(1 << 20), b""), path.name)
        except OSError as exc:
            raise BadRequest(f"cannot read {path}: {exc.strerror or exc}") from None

    def _add(self, chunks: Iterable[bytes], filename: str | None) -> Attachment:
        upload = self.upload(filename)
        try:
            for chunk in chunks:
                upload.write(chunk)
            return upload.finish()
        finally:
            upload.discard()

    def _place(self, temp: Path, digest: str, filename: str, size: int) -> Attachment:
        blob = self.blobs / digest
        with self._locked():
            meta = self._meta(digest)
            if meta is not None and blob.exists():
                return meta.attachment  # the same bytes again: kept once
            kind = sniff(temp, filename)
            attachment = Attachment(
                digest, filename, size, kind.mime, kind.is_image, kind.width, kind.height
            )
            self._write_meta(_Meta(attachment, time.time()))
            os.replace(temp, blob)
            fsync_dir(self.blobs)
            return attachment

    # -- reading ---------------------------------------------------------------------------

    def get(self, attachment_id: str) -> Attachment:
        """The stored file's description; NotFound for an unknown or malformed id."""
        meta = self._meta(_checked(attachment_id))
        if meta is None or not (self.blobs / attachment_id).exists():
            raise NotFound("attachment not found")
        return meta.attachment

    def path(self, attachment_id: str) -> Path:
        self.get(attachment_id)
        return self.blobs / attachment_id

    def thumbnail(self, attachment_id: str) -> Path:
        """A small WebP of an image, made on first request and kept."""
        attachment = self.get(attachment_id)
        if not attachment.is_image:
            raise NotFound("only images have thumbnails")
        thumb = self.thumbs / f"{attachment_id}.webp"
        if not thumb.exists():
            with Image.open(self.blobs / attachment_id) as image:
                image.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
                tmp = temp_path_for(thumb)
                image.save(tmp, "WEBP", quality=80)
                os.replace(tmp, thumb)
        return thumb

    # -- references and collection ---------------------------------------------------------

    def refer(self, session_id: str, attachment_ids: Iterable[str]) -> None:
        """Conversation `session_id` now refers to these files (ids of none are ignored)."""
        with self._locked():
            for attachment_id in attachment_ids:
                if not isinstance(attachment_id, str) or not ID_PATTERN.match(attachment_id):
                    continue
                meta = self._meta(attachment_id)
                if meta is not None and session_id not in meta.sessions:
                    meta.sessions.append(session_id)
                    self._write_meta(meta)

    def forget_session(self, session_id: str) -> int:
        """Drop `session_id`'s references; remove the files nothing refers to any more (and
        those uploaded but never sent, after a day). How many files went."""
        removed = 0
        now = time.time()
        with self._locked():
            for meta_path in self.blobs.glob("*.json"):
                meta = self._meta(meta_path.stem)
                if meta is None:
                    continue
                if session_id in meta.sessions:
                    meta.sessions.remove(session_id)
                    if meta.sessions:
                        self._write_meta(meta)
                        continue
                elif meta.sessions or now - meta.created < UNSENT_GRACE_SECONDS:
                    continue
                self._remove(meta_path.stem)
                removed += 1
        return removed

    def _remove(self, digest: str) -> None:
        for path in (
            self.blobs / digest,
            self.thumbs / f"{digest}.webp",
            self.blobs / f"{digest}.json",
        ):
            path.unlink(missing_ok=True)

    # -- metadata --------------------------------------------------------------------------

    def _meta(self, digest: str) -> _Meta | None:
        try:
            data = orjson.loads((self.blobs / f"{digest}.json").read_bytes())
        except FileNotFoundError:
            return None
        return _Meta(Attachment(**data["attachment"]), data["created"], list(data["sessions"]))

    def _write_meta(self, meta: _Meta) -> None:
        data = {
            "attachment": asdict(meta.attachment),
            "created": meta.created,
            "sessions": meta.sessions,
        }
        atomic_write(self.blobs / f"{meta.attachment.id}.json", orjson.dumps(data))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.root / "store.lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield


class Upload:
    """One file being received: written to a temp file and hashed as the bytes come."""

    def __init__(self, store: AttachmentStore, filename: str) -> None:
        self.store = store
        self.filename = filename
        self.size = 0
        self._hash = hashlib.sha256()
        self._temp = temp_path_for(store.incoming / f"upload-{uuid.uuid4().hex}")
        self._file = open(self._temp, "xb")  # noqa: SIM115 - closed by finish or discard
        os.chmod(self._temp, 0o600)

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.store.max_bytes:
            raise PayloadTooLarge(
                f"file too large (limit {self.store.max_bytes // (1024 * 1024)} MB a file)"
            )
        self._hash.update(chunk)
        self._file.write(chunk)

    def finish(self) -> Attachment:
        if self.size == 0:
            raise BadRequest("the file is empty")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        return self.store._place(self._temp, self._hash.hexdigest(), self.filename, self.size)

    def discard(self) -> None:
        self._file.close()
        self._temp.unlink(missing_ok=True)


def _checked(attachment_id: str) -> str:
    if not isinstance(attachment_id, str) or not ID_PATTERN.match(attachment_id):
        raise NotFound("attachment not found")
    return attachment_id
