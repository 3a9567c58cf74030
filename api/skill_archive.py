"""Skills in and out as zips: one skill's folder exported, and a zip of one skill folder or
several taken back.

An archive is hostile until shown otherwise. It streams to a temporary file within a size
limit, and before anything is written every entry's name is checked: an absolute path, a
`..`, `.` or empty component, a backslash, a control character, a name part over 255 bytes
or a symbolic-link entry makes it refused whole (400, each bad entry named with the reason),
since such an archive was made to reach outside. Then each skill is a folder holding
SKILL.md (or the zip's top when SKILL.md lies there, named by its front matter): every file
of it is read with a bound whatever its header claims (a zip bomb stops at the bound), must
be UTF-8 text, and its SKILL.md must parse. A skill failing any of that is skipped with the
reason and nothing of it is written; the others are written file by file through
`SkillLibrary.write`, which confines every path to the skill's folder, SKILL.md last, so a
skill is never seen half-written.
"""

from __future__ import annotations

import io
import lzma
import re
import stat
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from hermes_agent.errors import BadRequest, PayloadTooLarge, ToolError
from hermes_agent.redaction import redact_text
from hermes_agent.skills import (
    MAX_SKILL_BYTES,
    NAME,
    SKILL_FILE,
    SkillLibrary,
    declared_name,
    parse,
)

MAX_ARCHIVE_BYTES = 20 * 1024 * 1024
MAX_ENTRIES = 2_000
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
# What operating systems add to a zip of a folder: left out, never refused for.
_LITTER = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$|Thumbs\.db$|desktop\.ini$)")
_DRIVE = re.compile(r"^[A-Za-z]:")
# What reading an entry can raise besides our own refusals: a damaged or lying entry, a bad
# CRC, an encrypted entry (RuntimeError), a compression method Python lacks.
_UNREADABLE = (
    zipfile.BadZipFile,
    OSError,
    EOFError,
    RuntimeError,
    NotImplementedError,
    zlib.error,
    lzma.LZMAError,
)


@dataclass
class _Budget:
    """What the archive may still unpack to, over all its entries."""

    left: int = MAX_UNPACKED_BYTES

    def spend(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise PayloadTooLarge(f"the archive unpacks to over {MAX_UNPACKED_BYTES >> 20} MB")


@dataclass
class _Skill:
    root: tuple[str, ...]
    entries: list[tuple[zipfile.ZipInfo, tuple[str, ...]]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return "/".join(self.root) + "/" if self.root else SKILL_FILE


def export(skills: SkillLibrary, name: str) -> bytes:
    """Skill `name`'s folder as a zip of `<name>/<path>` entries; keys and tokens in its text
    files are masked, as in every export."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in skills.files(name):
            archive.writestr(f"{name}/{path}", _masked(skills.read_bytes(name, path)))
    return out.getvalue()


def _masked(data: bytes) -> bytes:
    try:
        return redact_text(data.decode("utf-8")).encode()
    except UnicodeDecodeError:
        return data


def restore(spool: IO[bytes], skills: SkillLibrary, *, overwrite: bool) -> dict[str, Any]:
    """Write the skills the archive holds; their names, and what was skipped and why."""
    with spool:
        try:
            archive = zipfile.ZipFile(spool)
        except (zipfile.BadZipFile, ValueError):
            raise BadRequest("not a zip archive") from None
        with archive:
            entries = archive.infolist()
            if len(entries) > MAX_ENTRIES:
                raise PayloadTooLarge(f"the archive has over {MAX_ENTRIES:,} entries")
            _refuse_unsafe(entries)
            found, skipped = _grouped(entries)
            taking = _Import(archive, skills, overwrite, skipped)
            imported = [name for skill in found if (name := taking.take(skill))]
    return {"imported": imported, "skipped": skipped, "existing": taking.existing}


def _refuse_unsafe(entries: list[zipfile.ZipInfo]) -> None:
    refused = [
        {"entry": entry.filename, "reason": reason}
        for entry in entries
        if (reason := _unsafe(entry)) is not None
    ]
    if refused:
        listed = "; ".join(f"{r['entry']!r}: {r['reason']}" for r in refused[:5])
        raise BadRequest(
            f"The archive was refused: {len(refused)} unsafe entr"
            f"{'y' if len(refused) == 1 else 'ies'} ({listed}). Nothing was imported.",
            refused=refused,
        )


# Each: whether an entry's name or kind could reach outside its folder, and how to say so.
_UNSAFE: list[tuple[Callable[[zipfile.ZipInfo, list[str]], bool], str]] = [
    (lambda e, _: stat.S_ISLNK(e.external_attr >> 16), "a symbolic link"),
    (lambda e, _: "\x00" in e.filename, "a NUL byte in its name"),
    (lambda e, _: any(ord(c) < 32 or ord(c) == 127 for c in e.filename), "a control character"),
    (lambda _, parts: any(len(p.encode()) > 255 for p in parts), "a name over 255 bytes"),
    (lambda e, _: "\\" in e.filename, "a backslash in its name (zips separate folders with /)"),
    (lambda e, _: e.filename.startswith("/") or bool(_DRIVE.match(e.filename)), "an absolute path"),
    (lambda _, parts: ".." in parts, "a .. component, which climbs out of its folder"),
    (lambda _, parts: "." in parts, "a . component"),
    (lambda _, parts: "" in parts, "an empty component (//)"),
]


def _unsafe(entry: zipfile.ZipInfo) -> str | None:
    parts = entry.filename.removesuffix("/").split("/")
    return next((reason for check, reason in _UNSAFE if check(entry, parts)), None)


def _grouped(entries: list[zipfile.ZipInfo]) -> tuple[list[_Skill], list[dict[str, str]]]:
    """The skills: each folder holding SKILL.md, outermost first, with the files under it."""
    files = [
        (e, tuple(e.filename.split("/")))
        for e in entries
        if not e.is_dir() and not _LITTER.search(e.filename)
    ]
    roots = sorted({parts[:-1] for _, parts in files if parts[-1] == SKILL_FILE}, key=len)
    outermost: list[tuple[str, ...]] = []
    for root in roots:
        if not any(root[: len(top)] == top for top in outermost):
            outermost.append(root)
    found = {root: _Skill(root) for root in outermost}
    skipped = []
    for entry, parts in files:
        root = next((r for r in outermost if parts[: len(r)] == r), None)
        if root is None:
            reason = "not inside a skill's folder (one holding SKILL.md)"
            skipped.append({"entry": entry.filename, "reason": reason})
            continue
        found[root].entries.append((entry, parts[len(root) :]))
    return list(found.values()), skipped


@dataclass
class _Import:
    archive: zipfile.ZipFile
    skills: SkillLibrary
    overwrite: bool
    skipped: list[dict[str, str]]
    existing: list[str] = field(default_factory=list)
    budget: _Budget = field(default_factory=_Budget)

    def take(self, skill: _Skill) -> str | None:
        """Write one skill; its name, or None after saying in `skipped` why it was not taken."""
        texts: dict[str, str] = {}
        for entry, path in skill.entries:
            try:
                texts["/".join(path)] = _text(self.archive, entry, self.budget)
            except BadRequest as exc:
                self.skipped.append({"entry": entry.filename, "reason": str(exc)})
                return self._skip(skill, "one of its files was refused")
            except _UNREADABLE as exc:
                reason = f"cannot be read: {exc}"
                self.skipped.append({"entry": entry.filename, "reason": reason})
                return self._skip(skill, "one of its files was refused")
        name = skill.root[-1] if skill.root else declared_name(texts[SKILL_FILE]) or ""
        if not NAME.fullmatch(name):
            return self._skip(
                skill, f"{name!r} is not a skill name: lowercase letters, digits and dashes"
            )
        try:
            parse(texts[SKILL_FILE], name)
            if self.skills.exists(name) and not self.overwrite:
                self.existing.append(name)
                raise ToolError(f"a skill named {name!r} is already installed")
            _write(self.skills, name, texts)
        except ToolError as exc:
            return self._skip(skill, str(exc))
        except OSError as exc:
            # SKILL.md goes last, so what was written is no skill yet: take it away again.
            if self.skills.exists(name) and "SKILL.md" not in self.skills.files(name):
                self.skills.delete(name)
            return self._skip(skill, f"could not be written: {exc.strerror or exc}")
        return name

    def _skip(self, skill: _Skill, reason: str) -> None:
        self.skipped.append({"entry": skill.label, "reason": f"not imported: {reason}"})


def _write(skills: SkillLibrary, name: str, texts: dict[str, str]) -> None:
    """Write the skill; one already there is replaced whole (its stale files go) and keeps
    its switch."""
    enabled = True
    if skills.exists(name):
        enabled = skills.enabled(name)
        skills.delete(name)
    for path in sorted(p for p in texts if p != SKILL_FILE):
        skills.write(name, path, texts[path])
    skills.write(name, SKILL_FILE, texts[SKILL_FILE])
    if not enabled:
        skills.set_enabled(name, False)


def _text(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, budget: _Budget) -> str:
    """The entry as text, refusing more than a skill file may hold whatever its header says."""
    if entry.file_size > MAX_SKILL_BYTES:
        raise BadRequest(f"over {MAX_SKILL_BYTES:,} bytes once unpacked")
    with archive.open(entry) as f:
        data = f.read(MAX_SKILL_BYTES + 1)
    if len(data) > MAX_SKILL_BYTES:
        raise BadRequest(f"over {MAX_SKILL_BYTES:,} bytes once unpacked")
    budget.spend(len(data))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("not UTF-8 text (a skill's files are text)") from None
