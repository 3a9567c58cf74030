"""Skills: procedures the agent saved (or was given), in the open SKILL.md format.

Each skill is a folder `$HERMES_HOME/skills/<name>/` holding `SKILL.md` (YAML front matter
with `name` and `description`, optionally `version` and `tags`; a Markdown body) and any
files it needs (scripts, templates, references). The system prompt lists only names and
descriptions; the body and files are read on demand (progressive disclosure), so a hundred
skills cost a few lines of prompt each.

Names are `[a-z0-9-]`, and every file path is confined to its skill's folder: `..`, absolute
paths and symbolic links are refused before anything is opened, and reads and writes go
through the file tools' link-refusing opener.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hermes_agent.durable import atomic_write
from hermes_agent.errors import ToolError
from hermes_agent.tools import confined

SKILL_FILE = "SKILL.md"
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


class SkillLibrary:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def all(self) -> list[Skill]:
        """Every readable skill, by name; a broken one is left out (and named by `broken`)."""
        skills = []
        for name in self._names():
            try:
                skills.append(self.get(name))
            except ToolError:
                continue
        return skills

    def summaries(self) -> list[Skill]:
        """Every readable skill's front matter (no files), re-read only when its SKILL.md
        changed: the index of a new conversation's prompt stats the files, no more."""
        seen = _SUMMARIES.setdefault(self.folder, {})
        found = []
        for name in self._names():
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

    def read(self, name: str, file_path: str = SKILL_FILE) -> str:
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
        return data.decode("utf-8", errors="replace")

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
        folder = self.folder / _checked_name(name)
        if folder.is_symlink() or not folder.is_dir():
            raise ToolError(f"no skill named {name!r}")
        shutil.rmtree(folder)

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
            if NAME.match(p.name) and p.is_dir() and not p.is_symlink()
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
    if not isinstance(name, str) or not NAME.match(name):
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
    return match[1]


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
