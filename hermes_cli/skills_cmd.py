"""`hermes skills list|show|install|remove`: the skills the agent can load."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hermes_agent.skills import SkillLibrary


def add_parser(commands: argparse._SubParsersAction) -> None:
    skills = commands.add_parser(
        "skills",
        help="list, show, install and remove skills",
        description="Skills: saved procedures in $HERMES_HOME/skills/<name>/SKILL.md, listed "
        "in the agent's prompt by name and description and loaded when a task calls for them.",
    )
    actions = skills.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every installed skill")
    listing.add_argument("--tag", help="only the skills with this tag")
    listing.set_defaults(run=_list)
    show = actions.add_parser("show", help="print a skill's SKILL.md and its files")
    show.add_argument("name")
    show.set_defaults(run=_show)
    install = actions.add_parser("install", help="copy a skill folder in")
    install.add_argument("path", type=Path, help="a folder holding SKILL.md")
    install.add_argument("--force", action="store_true", help="replace one by that name")
    install.set_defaults(run=_install)
    remove = actions.add_parser("remove", help="delete a skill")
    remove.add_argument("name")
    remove.set_defaults(run=_remove)
    for action, enabled in (("enable", True), ("disable", False)):
        switch = actions.add_parser(
            action,
            help=f"{'put a skill back in' if enabled else 'leave a skill out of'} the agent's "
            "prompt and slash commands (it stays installed)",
        )
        switch.add_argument("name")
        switch.set_defaults(run=_switch, enabled=enabled)


def _library() -> SkillLibrary:
    from hermes_agent.tools.skill_tools import skill_library

    return skill_library()


def _list(args: argparse.Namespace) -> int:
    library = _library()
    skills = [s for s in library.all(include_disabled=True) if not args.tag or args.tag in s.tags]
    off = library.disabled()
    if not skills:
        print("No skills installed." if not args.tag else f"No skill has the tag {args.tag!r}.")
    for skill in skills:
        tags = f"  [{', '.join(skill.tags)}]" if skill.tags else ""
        state = "  (off)" if skill.name in off else ""
        print(f"{skill.name:24}  {skill.description}{tags}{state}")
    return 0


def _show(args: argparse.Namespace) -> int:
    library = _library()
    skill = library.get(args.name)
    print(library.read(args.name), end="")
    if skill.files:
        print("\nFiles: " + ", ".join(skill.files))
    return 0


def _install(args: argparse.Namespace) -> int:
    skill = _library().install(args.path.expanduser(), overwrite=args.force)
    print(f"Installed {skill.name}: {skill.description}")
    return 0


def _switch(args: argparse.Namespace) -> int:
    _library().set_enabled(args.name, args.enabled)
    print(f"{'Enabled' if args.enabled else 'Disabled'} {args.name}.")
    return 0


def _remove(args: argparse.Namespace) -> int:
    _library().delete(args.name)
    print(f"Removed {args.name}.")
    return 0
