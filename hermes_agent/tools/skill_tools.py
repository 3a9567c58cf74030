"""The skill tools, named and shaped as hermes-agent's: `skills_list(tag?)`,
`skill_view(name, file_path?)` and `skill_manage(action, name, content?, file_path?,
old_text?, new_text?)`. The system prompt lists the skills; these load and change them."""

from __future__ import annotations

import json
from typing import Any

from hermes_agent.errors import ToolError
from hermes_agent.skills import SKILL_FILE, SkillLibrary
from hermes_agent.tools.registry import Tool, ToolContext

MANAGE_ACTIONS = ("create", "edit", "patch", "delete", "write_file")


def skill_library() -> SkillLibrary:
    from hermes_agent.settings import hermes_home

    return SkillLibrary(hermes_home() / "skills")


def invokes_skill(text: str) -> bool:
    """Whether `text` is `/<skill> [request]` for an installed, enabled skill: the surfaces
    send it as a message instead of taking it for an unknown command."""
    from hermes_agent.skills import invoked_skill

    return invoked_skill(text, skill_library()) is not None


def skills_list(args: dict[str, Any], _ctx: ToolContext) -> str:
    tag = args.get("tag")
    skills = [s for s in skill_library().all() if not tag or tag in s.tags]
    return json.dumps([s.summary() for s in skills], ensure_ascii=False)


def skill_view(args: dict[str, Any], _ctx: ToolContext) -> str:
    library = skill_library()
    name, file_path = args.get("name"), args.get("file_path")
    if file_path:
        return library.read(name, file_path)
    skill = library.get(name)
    files = "\n".join(f"- {f}" for f in skill.files) or "(none)"
    return f"{library.read(name)}\n\nFiles in this skill (read with file_path):\n{files}"


def skill_manage(args: dict[str, Any], _ctx: ToolContext) -> str:
    library, action, name = skill_library(), args.get("action"), args.get("name")
    content, file_path = args.get("content"), args.get("file_path") or SKILL_FILE
    if action not in MANAGE_ACTIONS:
        raise ToolError(f"action must be one of: {', '.join(MANAGE_ACTIONS)}")
    if action == "delete":
        library.delete(name)
        return f"Deleted skill {name}."
    if action == "patch":
        return _patch(library, name, file_path, args.get("old_text"), args.get("new_text"))
    if not isinstance(content, str):
        raise ToolError("content must be the file's whole text")
    if action == "create" and library.folder.joinpath(str(name)).exists():
        raise ToolError(f"a skill named {name!r} exists: edit or patch it")
    if action == "edit" and not library.folder.joinpath(str(name), SKILL_FILE).exists():
        raise ToolError(f"no skill named {name!r}: create it")
    target = SKILL_FILE if action in ("create", "edit") else file_path
    library.write(name, target, content)
    return f"Saved {target} of skill {name}."


def _patch(library: SkillLibrary, name: Any, file_path: str, old: Any, new: Any) -> str:
    if not isinstance(old, str) or not old or not isinstance(new, str):
        raise ToolError("patch needs old_text (exact, non-empty) and new_text")
    text = library.read(name, file_path)
    if text.count(old) != 1:
        raise ToolError(f"old_text appears {text.count(old)} times in {file_path}; it must once")
    library.write(name, file_path, text.replace(old, new))
    return f"Patched {file_path} of skill {name}."


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


NAME = {"type": "string", "description": "The skill's name (lowercase, digits, dashes)."}
FILE_PATH = {"type": "string", "description": "A file inside the skill (default SKILL.md)."}
SKILLS_LIST = Tool(
    "skills_list",
    "List the installed skills (name, description, tags), optionally those with a tag.",
    _schema({"tag": {"type": "string"}}, []),
    skills_list,
)
SKILL_VIEW = Tool(
    "skill_view",
    "Load a skill's instructions (its SKILL.md) before doing a task it covers, or one of its "
    "files with file_path.",
    _schema({"name": NAME, "file_path": FILE_PATH}, ["name"]),
    skill_view,
)
SKILL_MANAGE = Tool(
    "skill_manage",
    "Save what you learnt as a skill after a task that took many steps and will come again: "
    "`create` a SKILL.md (front matter with name and a one-line description, then the steps), "
    "`edit` it whole, `patch` text in it (old_text → new_text), `write_file` a script or "
    "template beside it, or `delete` it.",
    _schema(
        {
            "action": {"type": "string", "enum": list(MANAGE_ACTIONS)},
            "name": NAME,
            "content": {"type": "string"},
            "file_path": FILE_PATH,
            "old_text": {"type": "string"},
            "new_text": {"type": "string"},
        },
        ["action", "name"],
    ),
    skill_manage,
)
TOOLS = (SKILLS_LIST, SKILL_VIEW, SKILL_MANAGE)
