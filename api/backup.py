"""Every web conversation in one zip file: the JSON export of each, which import takes back,
and under `attachments/` the files they carry (`<id>/<filename>`), stored once each.

The archive is built in a spooled temporary file, so thousands of conversations never sit in
memory at once, and streamed out in chunks.
"""

from __future__ import annotations

import contextlib
import tempfile
import zipfile
from collections.abc import Iterator
from typing import IO

from api import models
from api.config import CACHE
from api.models import Session
from api.storage import dumps_file
from hermes_agent.attachment_content import carried_ids
from hermes_agent.errors import NotFound
from hermes_agent.redaction import redact
from hermes_agent.runtime import attachment_store

IN_MEMORY_BYTES = 8 * 1024 * 1024
CHUNK_BYTES = 256 * 1024


def build_archive() -> tuple[IO[bytes], int]:
    """The zip (rewound to its start) and how many conversations it holds."""
    with contextlib.ExitStack() as on_error:
        spool = on_error.enter_context(tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_BYTES))
        count = _write_archive(spool)
        spool.seek(0)
        on_error.pop_all()  # the caller streams it, then closes it
        return spool, count


def export_name(sid: str, suffix: str = "json") -> str:
    return f"hermes-{sid}.{suffix}"


def export_json(session: Session) -> bytes:
    """The JSON export of one session, as `POST /api/session/import` takes it back."""
    return dumps_file(redact(session.to_dict()))


def _write_archive(target: IO[bytes]) -> int:
    count = 0
    files: set[str] = set()
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for row in models.all_sessions():
            session = _uncached(row["session_id"])
            if session is None:
                continue  # deleted since the list was read
            archive.writestr(export_name(session.session_id), export_json(session))
            files.update(carried_ids(session.messages))
            count += 1
        _write_files(archive, files)
    return count


def _write_files(archive: zipfile.ZipFile, ids: set[str]) -> None:
    store = attachment_store()
    for attachment_id in sorted(ids):
        try:
            found = store.get(attachment_id)
        except NotFound:
            continue  # gone since the message was sent: the export says what it can
        archive.write(store.path(attachment_id), f"attachments/{attachment_id}/{found.filename}")


def _uncached(sid: str) -> Session | None:
    """The live object when cached, else the file read without caching it: a backup of
    thousands of sessions must not push the ones in use out of the cache."""
    cached = CACHE.peek(sid)
    return cached if cached is not None else Session.load(sid)


def chunks(archive: IO[bytes]) -> Iterator[bytes]:
    """The archive's bytes, closing (and so deleting) it once they are all read."""
    with archive:
        while data := archive.read(CHUNK_BYTES):
            yield data
