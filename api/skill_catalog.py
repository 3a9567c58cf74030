"""The skills as the browser lists, reads and changes them, through `SkillLibrary`, so names
and paths stay confined exactly as they are for the agent's skill tools.

The shipped skills are installed on first use here too (as a new conversation does), so the
page lists what the agent will see. A skill whose SKILL.md does not parse is listed apart,
with what is wrong, and can be read and saved to repair it. Keys and tokens in a skill are
masked in what these replies show, as in every reply of the API.
"""

from __future__ import annotations

from typing import Any

from hermes_agent.errors import NotFound, ToolError
from hermes_agent.redaction import redact
from hermes_agent.skills import SKILL_FILE, Skill, SkillLibrary, ensure_bundled, parse
from hermes_agent.tools.skill_tools import skill_library


def library() -> SkillLibrary:
    skills = skill_library()
    ensure_bundled(skills)
    return skills


def listing(skills: SkillLibrary) -> dict[str, Any]:
    off = skills.disabled()
    return redact(
        {
            "skills": [summary(s, s.name not in off) for s in skills.all(include_disabled=True)],
            "broken": [{"name": name, "error": error} for name, error in skills.broken()],
        }
    )


def summary(skill: Skill, enabled: bool) -> dict[str, Any]:
    return {**skill.summary(), "enabled": enabled, "files": list(skill.files)}


def detail(skills: SkillLibrary, name: str) -> dict[str, Any]:
    """SKILL.md as it is on disk, with its front matter when it parses and the error when not."""
    existing(skills, name)
    try:
        content = skills.read(name)
    except ToolError as exc:  # no SKILL.md, a link, or too large to read
        return _detail(skills, Skill(name, ""), "", str(exc))
    try:
        return _detail(skills, parse(content, name), content, None)
    except ToolError as exc:
        return _detail(skills, Skill(name, ""), content, str(exc))


def _detail(skills: SkillLibrary, skill: Skill, content: str, error: str | None) -> dict[str, Any]:
    files = [f for f in skills.files(skill.name) if f != SKILL_FILE]
    shown = summary(skill, skills.enabled(skill.name)) | {"files": files}
    return redact(shown | {"content": content, "error": error})


def save(skills: SkillLibrary, name: str, content: str) -> dict[str, Any]:
    """Create or replace SKILL.md; ToolError (a 400) with the parse error when it does not."""
    created = not skills.exists(name)
    skills.write(name, SKILL_FILE, content)
    return {
        "ok": True,
        "created": created,
        "skill": redact(summary(skills.get(name), skills.enabled(name))),
    }


def delete(skills: SkillLibrary, name: str) -> None:
    existing(skills, name)
    skills.delete(name)


def switch(skills: SkillLibrary, name: str, enabled: bool) -> dict[str, Any]:
    existing(skills, name)
    skills.set_enabled(name, enabled)
    return {"ok": True, "name": name, "enabled": enabled}


def existing(skills: SkillLibrary, name: str) -> None:
    """NotFound unless skill `name` is there (a ToolError, 400, for a name that is no name)."""
    if not skills.exists(name):
        raise NotFound(f"No skill named {name}")
