"""Turning a skill off: it stays on disk, leaves the prompt's index and the skill tools'
list, cannot be invoked by slash command, and comes back as it was when turned on."""

from __future__ import annotations

import pytest

from hermes_agent.errors import ToolError
from hermes_agent.skills import SkillLibrary, invoked_skill, with_skill
from hermes_agent.standing_context import StandingContext


def skill_md(name: str, description: str = "Does a thing.") -> str:
    return f"---\nname: {name}\ndescription: {description}\n---\nStep one.\n"


@pytest.fixture
def library(tmp_path) -> SkillLibrary:
    library = SkillLibrary(tmp_path / "skills")
    library.write("trip-plan", "SKILL.md", skill_md("trip-plan", "Plan a trip."))
    library.write("packing-list", "SKILL.md", skill_md("packing-list", "Pack a bag."))
    return library


def test_a_disabled_skill_leaves_the_index_and_cannot_be_invoked_but_stays_on_disk(library):
    library.set_enabled("trip-plan", False)

    assert [s.name for s in library.summaries()] == ["packing-list"]
    assert [s.name for s in library.all()] == ["packing-list"]
    assert [s.name for s in library.all(include_disabled=True)] == ["packing-list", "trip-plan"]
    assert invoked_skill("/trip-plan to Sintra", library) is None
    assert with_skill("/trip-plan to Sintra", library) == "/trip-plan to Sintra"
    assert "trip-plan" not in StandingContext(None, library).snapshot()
    assert library.get("trip-plan").description == "Plan a trip."
    assert library.enabled("trip-plan") is False and library.enabled("packing-list") is True

    library.set_enabled("trip-plan", True)
    assert [s.name for s in library.summaries()] == ["packing-list", "trip-plan"]
    assert invoked_skill("/trip-plan to Sintra", library) == "trip-plan"


def test_the_switch_is_kept_outside_the_skill_and_survives_a_new_library(library, tmp_path):
    library.set_enabled("trip-plan", False)
    files_before = library.get("trip-plan").files

    again = SkillLibrary(tmp_path / "skills")
    assert again.enabled("trip-plan") is False
    assert again.get("trip-plan").files == files_before == ()


def test_deleting_a_skill_forgets_its_switch(library):
    library.set_enabled("trip-plan", False)
    library.delete("trip-plan")
    library.write("trip-plan", "SKILL.md", skill_md("trip-plan"))
    assert library.enabled("trip-plan") is True


@pytest.mark.parametrize("name", ["../trip-plan", "Trip", "a/b", "trip-plan\n", ""])
def test_the_switch_refuses_names_that_are_not_skill_names(library, name):
    with pytest.raises(ToolError):
        library.set_enabled(name, False)


def test_a_skill_that_does_not_parse_is_named_as_broken(library):
    folder = library.folder / "half-done"
    folder.mkdir()
    (folder / "SKILL.md").write_text("no front matter here\n")
    (library.folder / "empty-folder").mkdir()

    broken = dict(library.broken())
    assert set(broken) == {"half-done", "empty-folder"}
    assert "front matter" in broken["half-done"]
    assert [s.name for s in library.all()] == ["packing-list", "trip-plan"]


def test_files_are_read_as_bytes_within_the_skill(library):
    library.write("trip-plan", "notes/route.txt", "Lisbon → Sintra\n")
    assert library.read_bytes("trip-plan", "notes/route.txt") == "Lisbon → Sintra\n".encode()
    with pytest.raises(ToolError):
        library.read_bytes("trip-plan", "../packing-list/SKILL.md")


def test_the_skills_command_lists_a_skill_turned_off_as_off(tmp_path):
    import subprocess
    import sys

    from tests.support import REPO_ROOT

    library = SkillLibrary(tmp_path / "home" / "skills")
    library.write("trip-plan", "SKILL.md", skill_md("trip-plan", "Plan a trip."))
    library.write("packing-list", "SKILL.md", skill_md("packing-list", "Pack a bag."))
    library.set_enabled("trip-plan", False)
    listed = subprocess.run(
        [sys.executable, "-m", "hermes_cli", "skills", "list"],
        cwd=REPO_ROOT,
        env={"HERMES_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    assert listed[0].startswith("packing-list") and not listed[0].endswith("(off)")
    assert listed[1].startswith("trip-plan") and listed[1].endswith("Plan a trip.  (off)")
