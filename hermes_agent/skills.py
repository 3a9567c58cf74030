"""Skills: procedures the agent saved (or was given), in the open SKILL.md format.

Each skill is a folder `$HERMES_HOME/skills/<name>/` holding `SKILL.md` (YAML front matter
with `name` and `description`, optionally `version` and `tags`; a Markdown body) and any
files it needs (scripts, templates, references). The system prompt lists only names and
descriptions; the body and files are read on demand (progressive disclosure), so a hundred
skills cost a few lines of prompt each.

Names are `[a-z0-9-]`, and every file path is confined to its skill's folder: `..`, absolute
paths and symbolic links are refused before anything is opened, and reads and writes go
through the file tools' link-refusing opener.

A skill can be turned off: it stays on disk, readable and editable, but is left out of the
prompt's index and the skill tools' list and cannot be invoked by slash command. The names of
the skills turned off are kept in `.disabled.json` beside the skills (not inside one, so a
skill's folder stays pure SKILL.md format and its exports carry no switch), changed under an
exclusive lock so processes never lose each other's changes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hermes_agent.durable import atomic_write
from hermes_agent.errors import ToolError
from hermes_agent.tools import confined

log = logging.getLogger(__name__)

SKILL_FILE = "SKILL.md"
DISABLED_RECORD = ".disabled.json"
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
MAX_SKILL_BYTES = 100_000
MAX_DESCRIPTION = 300
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C one when libyaml is there
_FRONT = re.compile(r"\A---\n(.*?)\n---\n?(.*)\Z", re.DOTALL)


@dataclass(frozen=True)
class Skill:
    name: str
    description: str
    version: str | None = None
    tags: tuple[str, ...] = ()
    body: str = ""
    files: tuple[str, ...] = field(default=())

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "tags": list(self.tags),
            "version": self.version,
        }


def parse(text: str, folder_name: str) -> Skill:
    """A SKILL.md's front matter and body; ToolError saying what is wrong with it."""
    match = _FRONT.match(text.replace("\r\n", "\n"))
    if match is None:
        raise ToolError("SKILL.md must start with front matter between --- lines")
    try:
        meta = yaml.load(match[1], Loader=_YAML_LOADER) or {}
    except yaml.YAMLError as exc:
        raise ToolError(f"the front matter is not valid YAML: {exc}") from None
    if not isinstance(meta, dict):
        raise ToolError("the front matter must be a mapping")
    name, description = meta.get("name"), meta.get("description")
    if name != folder_name:
        raise ToolError(f"the front matter's name must be {folder_name!r}")
    if not isinstance(description, str) or not description.strip():
        raise ToolError("the front matter needs a one-line description")
    tags = meta.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ToolError("tags must be a list of words")
    version = meta.get("version")
    return Skill(
        name,
        " ".join(description.split())[:MAX_DESCRIPTION],
        None if version is None else str(version),
        tuple(tags),
        match[2].strip(),
    )


def declared_name(text: str) -> str | None:
    """The `name` a SKILL.md's front matter gives, if it has readable front matter with one."""
    match = _FRONT.match(text.replace("\r\n", "\n"))
    try:
        meta = yaml.load(match[1], Loader=_YAML_LOADER) if match else None
    except yaml.YAMLError:
        return None
    name = meta.get("name") if isinstance(meta, dict) else None
    return name if isinstance(name, str) else None


class SkillLibrary:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def all(self, *, include_disabled: bool = False) -> list[Skill]:
        """Every readable skill, by name; a broken one is left out (and named by `broken`),
        and so is one turned off, unless `include_disabled`."""
        skills = []
        off = set() if include_disabled else self.disabled()
        for name in self._names():
            if name in off:
                continue
            try:
                skills.append(self.get(name))
            except ToolError:
                continue
        return skills

    def broken(self) -> list[tuple[str, str]]:
        """(name, what is wrong) of every skill folder whose SKILL.md cannot be read."""
        found = []
        for name in self._names():
            try:
                parse(self.read(name), name)
            except ToolError as exc:
                found.append((name, str(exc)))
        return found

    def summaries(self) -> list[Skill]:
        """Every readable skill's front matter (no files), re-read only when its SKILL.md
        changed: the index of a new conversation's prompt stats the files, no more."""
        seen = _SUMMARIES.setdefault(self.folder, {})
        found = []
        off = self.disabled()
        for name in self._names():
            if name in off:
                continue
            try:
                info = (self.folder / name / SKILL_FILE).lstat()
            except OSError:
                continue
            key = (info.st_mtime_ns, info.st_size, info.st_ino)
            cached = seen.get(name)
            if cached is None or cached[0] != key:
                try:
                    cached = seen[name] = (key, parse(self.read(name), name))
                except ToolError:
                    continue
            found.append(cached[1])
        return found

    def get(self, name: str) -> Skill:
        text = self.read(name, SKILL_FILE)
        skill = parse(text, name)
        files = tuple(sorted(f for f in self._files(name) if f != SKILL_FILE))
        return Skill(skill.name, skill.description, skill.version, skill.tags, skill.body, files)

    def files(self, name: str) -> list[str]:
        """The skill's files, SKILL.md included, relative to its folder, by path."""
        return sorted(self._files(_checked_name(name)))

    def read(self, name: str, file_path: str = SKILL_FILE) -> str:
        return self.read_bytes(name, file_path).decode("utf-8", errors="replace")

    def read_bytes(self, name: str, file_path: str = SKILL_FILE) -> bytes:
        parts = self._parts(name, file_path)
        try:
            with confined.open_file(self.folder, parts) as f:
                data = f.read(MAX_SKILL_BYTES + 1)
        except (FileNotFoundError, NotADirectoryError, confined.NotAFile):
            raise ToolError(f"no {file_path} in skill {name!r}") from None
        except confined.LinkRefused:
            raise ToolError(f"{file_path} in skill {name!r} is a symbolic link") from None
        if len(data) > MAX_SKILL_BYTES:
            raise ToolError(f"{file_path} is over {MAX_SKILL_BYTES:,} bytes")
        return data

    def write(self, name: str, file_path: str, text: str) -> None:
        """Write a file of skill `name` (created with its folder); SKILL.md must parse."""
        parts = self._parts(name, file_path)
        data = text.encode()
        if len(data) > MAX_SKILL_BYTES:
            raise ToolError(f"{file_path} would be over {MAX_SKILL_BYTES:,} bytes")
        if file_path == SKILL_FILE:
            parse(text, name)
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            with confined.open_dir(self.folder, parts[:-1], create=True) as parent:
                confined.replace_file(parent, parts[-1], data)
        except confined.LinkRefused:
            raise ToolError(f"{file_path} in skill {name!r} goes through a symbolic link") from None

    def delete(self, name: str) -> None:
        """Remove the skill's folder; its switch is forgotten, so a new one by that name is on."""
        if not self.exists(name):
            raise ToolError(f"no skill named {name!r}")
        shutil.rmtree(self.folder / name)
        with self._disabled_names() as off:
            off.discard(name)

    def exists(self, name: str) -> bool:
        """Whether skill `name` has a folder (a real one, not a link); refuses bad names."""
        folder = self.folder / _checked_name(name)
        return folder.is_dir() and not folder.is_symlink()

    # -- on and off ------------------------------------------------------------------------

    def disabled(self) -> set[str]:
        """The names of the skills turned off."""
        try:
            names = json.loads((self.folder / DISABLED_RECORD).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return set()
        except (OSError, ValueError) as exc:
            log.warning("%s is unreadable, so every skill counts as on: %s", DISABLED_RECORD, exc)
            return set()
        return {n for n in names if isinstance(n, str)} if isinstance(names, list) else set()

    def enabled(self, name: str) -> bool:
        return _checked_name(name) not in self.disabled()

    def set_enabled(self, name: str, enabled: bool) -> None:
        """Turn skill `name` on or off; it stays on disk either way."""
        if not self.exists(name):
            raise ToolError(f"no skill named {name!r}")
        with self._disabled_names() as off:
            if enabled:
                off.discard(name)
            else:
                off.add(name)

    @contextlib.contextmanager
    def _disabled_names(self) -> Iterator[set[str]]:
        """The names turned off, to change in the block; written back if they changed.
        Held under the skills folder's lock, and re-read under it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / ".lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            before = self.disabled()
            names = set(before)
            yield names
            if names != before:
                data = json.dumps(sorted(names), indent=2).encode()
                atomic_write(self.folder / DISABLED_RECORD, data)

    def install(self, source: Path, *, overwrite: bool = False) -> Skill:
        """Copy a skill folder in (its name from its folder); refuses links and bad SKILL.md."""
        name = _checked_name(source.name)
        skill = parse((source / SKILL_FILE).read_text(encoding="utf-8"), name)
        if (self.folder / name).exists() and not overwrite:
            raise ToolError(f"a skill named {name!r} is already installed")
        for path in sorted(source.rglob("*")):
            if path.is_symlink():
                raise ToolError(f"{path.relative_to(source)} is a symbolic link")
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            self.write(name, path.relative_to(source).as_posix(), path.read_text("utf-8"))
        return skill

    # -- paths -----------------------------------------------------------------------------

    def _names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(
            p.name
            for p in self.folder.iterdir()
            if NAME.fullmatch(p.name) and p.is_dir() and not p.is_symlink()
        )

    def _files(self, name: str) -> list[str]:
        root = self.folder / name
        return [
            p.relative_to(root).as_posix()
            for p in root.rglob("*")
            if p.is_file() and not p.is_symlink()
        ]

    def _parts(self, name: str, file_path: str) -> tuple[str, ...]:
        """The path components of `file_path` in skill `name`, refused unless plainly inside."""
        if not isinstance(file_path, str) or not file_path or "\x00" in file_path:
            raise ToolError("file_path must be a relative path inside the skill")
        parts = tuple(Path(file_path).parts)
        if Path(file_path).is_absolute() or any(p in ("..", ".", "") for p in parts):
            raise ToolError(f"{file_path!r} is not a plain path inside the skill")
        return (_checked_name(name), *parts)


def _checked_name(name: object) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ToolError("a skill's name is lowercase letters, digits and dashes (up to 64)")
    return name


def prompt_index(skills: list[Skill]) -> str:
    """The lines the system prompt lists skills by: name and description only."""
    if not skills:
        return ""
    lines = [f"- {s.name}: {s.description}" for s in skills]
    return "\n".join(lines)


# folder → name → ((mtime, size, inode) of its SKILL.md, what it said)
_SUMMARIES: dict[Path, dict[str, tuple[tuple[int, int, int], Skill]]] = {}
BUNDLED = Path(__file__).parent / "bundled_skills"
BUNDLED_RECORD = ".bundled.json"


_PROVIDED: set[Path] = set()


def ensure_bundled(library: SkillLibrary) -> None:
    """`install_bundled` once per process and folder: every new agent and the skills page
    ask for it, and only a new version of the project brings anything new."""
    if library.folder not in _PROVIDED:
        install_bundled(library)
        _PROVIDED.add(library.folder)


def install_bundled(library: SkillLibrary, source: Path = BUNDLED) -> list[str]:
    """Put the skills that ship with the project into `library`, never over the user's: one
    the user deleted stays deleted, one they edited stays theirs, and one left untouched is
    updated when the shipped version changes. The names installed or updated."""
    record_path = library.folder / BUNDLED_RECORD
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = {}
    changed = []
    for folder in sorted(p for p in source.iterdir() if (p / SKILL_FILE).is_file()):
        shipped = _digest((folder / SKILL_FILE).read_bytes())
        installed = library.folder / folder.name / SKILL_FILE
        if folder.name in record:
            was = record[folder.name]
            untouched = installed.is_file() and _digest(installed.read_bytes()) == was
            if not untouched or shipped == was:
                continue
        elif installed.parent.exists():
            continue  # the user's own skill by that name
        library.install(folder, overwrite=True)
        record[folder.name] = shipped
        changed.append(folder.name)
    if changed:
        atomic_write(record_path, json.dumps(record, indent=2).encode())
    return changed


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


SKILL_PART = "skill"
_INVOCATION = re.compile(r"^/([a-z0-9][a-z0-9-]{0,63})(?:\s|$)")


def invoked_skill(text: str, library: SkillLibrary) -> str | None:
    """The skill `text` invokes (`/<name> [request]`), if one by that name is installed."""
    match = _INVOCATION.match(text.strip())
    if match is None or not (library.folder / match[1] / SKILL_FILE).is_file():
        return None
    return match[1] if match[1] not in library.disabled() else None


def with_skill(content: str | list, library: SkillLibrary) -> str | list:
    """A user message's content with a part naming the skill its text invokes: the model gets
    the skill's instructions with the message (see `skill_text`), the transcript keeps the
    words as typed."""
    text = (
        content
        if isinstance(content, str)
        else next(
            (p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"),
            "",
        )
    )
    name = invoked_skill(text, library)
    if name is None:
        return content
    parts = [{"type": "text", "text": content}] if isinstance(content, str) else list(content)
    return [*parts, {"type": SKILL_PART, SKILL_PART: name, "text": name}]


def skill_text(name: str, library: SkillLibrary | None) -> str:
    """What the model reads for an invoked skill: its instructions, to follow for the request."""
    try:
        if library is None:
            raise ToolError("skills are not available here")
        body = library.get(name).body
    except ToolError as exc:
        return f"[The skill {name} was invoked but cannot be read: {exc}]"
    return f"[The user invoked the skill {name}. Follow it for this request:]\n{body}"
