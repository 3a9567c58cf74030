"""Taking a zip export back whole: its conversations, and the files their messages carry.

The archive (`GET /api/sessions/export`'s format) streams to a temporary file within a size
limit. Files under `attachments/<id>/<name>` go into the attachment store first; each is
stored by the hash of its bytes, so an entry whose bytes do not match its name is stored
under its real id and the messages that named it are pointed there. Then every
`hermes-<id>.json` is imported like `POST /api/session/import`, as a new conversation. Every
read is bounded (a zip can claim small sizes and inflate to gigabytes), and an entry that
cannot be taken is listed with the reason, never fatal to the others.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from typing import IO, Any

import orjson
from pydantic import ValidationError
from starlette.requests import Request

from api.schemas import ImportSession
from api.session_import import import_session
from hermes_agent.attachment_content import described_files
from hermes_agent.attachments import MAX_FILE_BYTES
from hermes_agent.errors import BadRequest, HermesError, PayloadTooLarge
from hermes_agent.runtime import attachment_store

MAX_ARCHIVE_BYTES = 512 * 1024 * 1024
MAX_JSON_BYTES = 20 * 1024 * 1024
MAX_ENTRIES = 20_000
SESSION_ENTRY = re.compile(r"^hermes-[0-9a-z_]{1,64}\.json$")
FILE_ENTRY = re.compile(r"^attachments/([0-9a-f]{64})/([^/]+)$")


async def receive(request: Request, limit: int = MAX_ARCHIVE_BYTES) -> IO[bytes]:
    """The request body in a temporary file (in memory up to 8 MB), rewound; PayloadTooLarge
    as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"archive too large (limit {limit >> 20} MB)")
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - returned
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            spool.close()
            raise PayloadTooLarge(f"archive too large (limit {limit >> 20} MB)")
        spool.write(chunk)
    spool.seek(0)
    return spool


def restore(spool: IO[bytes]) -> dict[str, Any]:
    """Import what the archive holds; counts, the new sessions and what was skipped, why."""
    with spool:
        try:
            archive = zipfile.ZipFile(spool)
        except zipfile.BadZipFile:
            raise BadRequest("not a zip archive") from None
        with archive:
            entries = archive.infolist()
            if len(entries) > MAX_ENTRIES:
                raise PayloadTooLarge(f"archive has over {MAX_ENTRIES} entries")
            skipped: list[dict[str, str]] = []
            moved = _restore_files(archive, entries, skipped)
            sessions = _restore_sessions(archive, entries, moved, skipped)
    return {
        "imported": len(sessions),
        "files": len(moved),
        "sessions": sessions,
        "skipped": skipped,
    }


def _restore_files(archive: zipfile.ZipFile, entries: list, skipped: list) -> dict[str, str]:
    """Store every file entry; old id → the id it is stored under."""
    store = attachment_store()
    moved = {}
    for entry in entries:
        match = FILE_ENTRY.match(entry.filename)
        if match is None:
            continue
        try:
            data = _bounded(archive, entry, MAX_FILE_BYTES)
            moved[match[1]] = store.add_bytes(data, match[2]).id
        except (HermesError, zipfile.BadZipFile, OSError) as exc:
            skipped.append({"entry": entry.filename, "reason": str(exc)})
    return moved


def _restore_sessions(
    archive: zipfile.ZipFile, entries: list, moved: dict[str, str], skipped: list
) -> list[str]:
    imported = []
    for entry in entries:
        if not SESSION_ENTRY.match(entry.filename):
            if FILE_ENTRY.match(entry.filename) is None:
                skipped.append({"entry": entry.filename, "reason": "not part of an export"})
            continue
        try:
            data = orjson.loads(_bounded(archive, entry, MAX_JSON_BYTES))
            body = ImportSession.model_validate(_importable(_repointed(data, moved)))
            session = import_session(body)
        except (HermesError, ValidationError, orjson.JSONDecodeError, zipfile.BadZipFile) as exc:
            skipped.append({"entry": entry.filename, "reason": _reason(exc)})
            continue
        imported.append(session.session_id)
    return imported


def _bounded(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, limit: int) -> bytes:
    """The entry's bytes, refusing more than `limit` whatever its header claims."""
    if entry.file_size > limit:
        raise PayloadTooLarge(f"{entry.filename} is over {limit >> 20} MB")
    with archive.open(entry) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"{entry.filename} is over {limit >> 20} MB")
    return data


def _importable(data: Any) -> Any:
    """What an import takes of an export. Not its workspace: that names a folder on the
    machine that wrote it, and the import lands in the default workspace instead."""
    if not isinstance(data, dict):
        return data
    return {k: data[k] for k in ("title", "messages", "model", "tool_calls", "pinned") if k in data}


def _repointed(data: Any, moved: dict[str, str]) -> Any:
    """The export with its messages' attachment ids mapped to where the files are now: in
    the page's `attachments` and in the model's content parts."""
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        return data
    for message in data["messages"]:
        for described in described_files(message):
            if described.get("id") in moved:
                described["id"] = moved[described["id"]]
    return data


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(exc)
