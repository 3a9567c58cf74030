"""Skills on disk and the skill tools: the SKILL.md format, progressive disclosure, and paths
that must never leave a skill's folder."""

from __future__ import annotations

import json
import os

import pytest

from hermes_agent.errors import ToolError
from hermes_agent.skills import SkillLibrary
from hermes_agent.tools.skill_tools import skill_manage, skill_view, skills_list

SKILL = """---
name: commit-message
description: Write a commit message from a diff.
version: 1
tags: [git, writing]
---
1. Read the diff.
2. Say what changed and why, in the imperative.
"""


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HERMES_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def call(tool, **args):
    return tool(args, None)


def test_a_skill_is_created_listed_viewed_and_patched(home):
    call(skill_manage, action="create", name="commit-message", content=SKILL)
    call(
        skill_manage,
        action="write_file",
        name="commit-message",
        file_path="templates/body.txt",
        content="Why:\n",
    )

    listed = json.loads(call(skills_list))
    assert listed == [
        {
            "name": "commit-message",
            "description": "Write a commit message from a diff.",
            "tags": ["git", "writing"],
            "version": "1",
        }
    ]
    assert json.loads(call(skills_list, tag="cooking")) == []
    viewed = call(skill_view, name="commit-message")
    assert "2. Say what changed" in viewed and "- templates/body.txt" in viewed
    assert call(skill_view, name="commit-message", file_path="templates/body.txt") == "Why:\n"

    call(
        skill_manage,
        action="patch",
        name="commit-message",
        old_text="in the imperative",
        new_text="in the imperative mood",
    )
    assert "imperative mood" in call(skill_view, name="commit-message")
    assert (home / "skills" / "commit-message" / "SKILL.md").is_file()


@pytest.mark.parametrize(
    ("name", "file_path"),
    [
        ("../outside", "SKILL.md"),
        ("commit-message", "../../config.yaml"),
        ("commit-message", "/etc/passwd"),
        ("commit-message", "a/../../b"),
        ("Commit_Message", "SKILL.md"),
        ("commit-message", "x\x00y"),
    ],
)
def test_names_and_paths_outside_a_skill_are_refused(home, name, file_path):
    call(skill_manage, action="create", name="commit-message", content=SKILL)
    with pytest.raises(ToolError):
        call(skill_view, name=name, file_path=file_path)
    with pytest.raises(ToolError):
        call(skill_manage, action="write_file", name=name, file_path=file_path, content="x")
    assert not (home / "config.yaml").exists()


def test_a_symbolic_link_in_a_skill_is_never_followed(home, tmp_path):
    call(skill_manage, action="create", name="commit-message", content=SKILL)
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    os.symlink(secret, home / "skills" / "commit-message" / "notes.txt")
    os.symlink(tmp_path, home / "skills" / "commit-message" / "dir")

    with pytest.raises(ToolError, match="symbolic link"):
        call(skill_view, name="commit-message", file_path="notes.txt")
    with pytest.raises(ToolError, match="symbolic link"):
        call(
            skill_manage,
            action="write_file",
            name="commit-message",
            file_path="dir/planted.txt",
            content="x",
        )
    assert not (tmp_path / "planted.txt").exists()
    assert secret.read_text() == "top secret"


def test_a_skill_md_without_its_name_and_description_is_refused(home):
    for bad in (
        "no front matter",
        "---\nname: other\ndescription: x\n---\nbody",
        "---\nname: commit-message\n---\nbody",
        "---\n[not: yaml\n---\n",
    ):
        with pytest.raises(ToolError):
            call(skill_manage, action="create", name="commit-message", content=bad)
    assert call(skills_list) == "[]"


def test_install_copies_a_folder_and_refuses_one_with_links(tmp_path):
    source = tmp_path / "commit-message"
    source.mkdir()
    (source / "SKILL.md").write_text(SKILL)
    (source / "check.sh").write_text("git diff --stat\n")
    library = SkillLibrary(tmp_path / "skills")
    assert library.install(source).name == "commit-message"
    assert library.get("commit-message").files == ("check.sh",)

    os.symlink("/etc/passwd", source / "passwd")
    with pytest.raises(ToolError, match="symbolic link"):
        SkillLibrary(tmp_path / "other").install(source)


def test_shipped_skills_are_installed_once_and_never_over_the_users_changes(tmp_path):
    from hermes_agent.skills import install_bundled

    shipped = tmp_path / "shipped"
    (shipped / "commit-message").mkdir(parents=True)
    (shipped / "commit-message" / "SKILL.md").write_text(SKILL)
    (shipped / "code-review").mkdir()
    (shipped / "code-review" / "SKILL.md").write_text(
        SKILL.replace("commit-message", "code-review")
    )
    library = SkillLibrary(tmp_path / "skills")

    assert install_bundled(library, shipped) == ["code-review", "commit-message"]
    assert install_bundled(library, shipped) == [], "once"

    edited = SKILL + "\nMy own extra step.\n"
    (library.folder / "commit-message" / "SKILL.md").write_text(edited)
    library.delete("code-review")
    (shipped / "commit-message" / "SKILL.md").write_text(SKILL + "\nA new shipped step.\n")
    assert install_bundled(library, shipped) == [], "edited stays the user's; deleted stays gone"
    assert (library.folder / "commit-message" / "SKILL.md").read_text() == edited
    assert not (library.folder / "code-review").exists()


def test_the_shipped_skills_parse(tmp_path):
    from hermes_agent.skills import install_bundled

    library = SkillLibrary(tmp_path / "skills")
    names = install_bundled(library)
    assert {"commit-message", "summarise-document", "code-review"} <= set(names)
    assert all(library.get(n).description for n in names)


def test_the_skills_command_installs_lists_shows_and_removes(tmp_path):
    import subprocess

    from tests.support import run_hermes

    source = tmp_path / "commit-message"
    source.mkdir()
    (source / "SKILL.md").write_text(SKILL)
    env = {"HERMES_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}

    def hermes(*args: str) -> subprocess.CompletedProcess:
        return run_hermes("skills", *args, env=env)

    assert hermes("install", str(source)).stdout.startswith("Installed commit-message")
    assert "already installed" in hermes("install", str(source)).stderr
    listed = hermes("list", "--tag", "git").stdout
    assert listed.startswith("commit-message") and "[git, writing]" in listed
    assert "2. Say what changed" in hermes("show", "commit-message").stdout
    assert hermes("disable", "commit-message").stdout == "Disabled commit-message.\n"
    assert "(off)" in hermes("list").stdout
    assert hermes("enable", "commit-message").returncode == 0
    assert "(off)" not in hermes("list").stdout
    assert "no skill named" in hermes("disable", "nothing-here").stderr
    assert hermes("remove", "commit-message").returncode == 0
    assert hermes("show", "commit-message").returncode == 1
