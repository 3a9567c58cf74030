"""Skills over HTTP against a real `hermes web`: listing, reading, saving (with SKILL.md's
parse errors), deleting, turning off and on (seen in a new conversation's prompt), and zips
in and out."""

from __future__ import annotations

import io
import zipfile
from urllib.parse import urlencode

import pytest

from hermes_agent.skills import SkillLibrary
from tests.fakes.openai_server import Reply
from tests.support import ServerProcess, fake_provider_env, read_events, request

BUNDLED = {"code-review", "commit-message", "summarise-document"}


def skill_md(name: str, description: str = "Plan a day trip by train.", body: str = "") -> str:
    return (
        f"---\nname: {name}\ndescription: {description}\nversion: 2\ntags: [travel, trains]\n"
        f"---\n{body or '1. Check the trains.'}\n"
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory, fake):
    process = ServerProcess(
        tmp_path_factory.mktemp("skills-api"), extra_env=fake_provider_env(fake)
    )
    process.start()
    yield process
    process.stop()


@pytest.fixture
def library(server) -> SkillLibrary:
    """The server's skills: its own, with none but the shipped ones left from other tests."""
    skills = SkillLibrary(server.root / "hermes-home" / "skills")
    for name in [s.name for s in skills.all(include_disabled=True)] + [
        n for n, _ in skills.broken()
    ]:
        if name not in BUNDLED:
            skills.delete(name)
    return skills


def get(server, path: str, **query):
    return request(server.base, "GET", path + ("?" + urlencode(query) if query else ""))


def post(server, path: str, body=None, **kwargs):
    return request(server.base, "POST", path, body, **kwargs)


def zipped(files: dict[str, str | bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


def import_zip(server, data: bytes, **query):
    path = "/api/skills/import" + ("?" + urlencode(query) if query else "")
    return request(
        server.base, "POST", path, data=data, headers={"Content-Type": "application/zip"}
    )


def assert_error(reply, status: int, text: str | None = None) -> None:
    assert reply.status == status, (reply.status, reply.body)
    assert reply.headers["content-type"].startswith("application/json")
    assert isinstance(reply.json["error"], str) and reply.json["error"]
    if text is not None:
        assert text in reply.json["error"]


def test_the_list_shows_each_skill_with_its_front_matter_switch_and_files(server, library):
    library.write("trip-plan", "SKILL.md", skill_md("trip-plan"))
    library.write("trip-plan", "templates/day.md", "# Day\n")
    reply = get(server, "/api/skills")
    assert reply.status == 200, reply.body
    skills = {s["name"]: s for s in reply.json["skills"]}
    assert skills["trip-plan"] == {
        "name": "trip-plan",
        "description": "Plan a day trip by train.",
        "tags": ["travel", "trains"],
        "version": "2",
        "enabled": True,
        "files": ["templates/day.md"],
    }
    assert set(skills) >= BUNDLED, "the shipped skills are installed on first use"
    assert reply.json["broken"] == []


def test_a_skill_that_does_not_parse_is_listed_as_broken_and_can_be_read_and_fixed(server, library):
    folder = library.folder / "half-done"
    folder.mkdir()
    (folder / "SKILL.md").write_text("no front matter\n")
    listed = get(server, "/api/skills").json
    assert "half-done" not in {s["name"] for s in listed["skills"]}
    assert [b["name"] for b in listed["broken"]] == ["half-done"]
    assert "front matter" in listed["broken"][0]["error"]

    shown = get(server, "/api/skill", name="half-done")
    assert shown.status == 200, shown.body
    assert shown.json["content"] == "no front matter\n"
    assert "front matter" in shown.json["error"]

    fixed = post(server, "/api/skill/save", {"name": "half-done", "content": skill_md("half-done")})
    assert fixed.status == 200, fixed.body
    assert get(server, "/api/skills").json["broken"] == []


def test_one_skill_is_read_whole(server, library):
    library.write("trip-plan", "SKILL.md", skill_md("trip-plan"))
    library.write("trip-plan", "scripts/check.sh", "echo trains\n")
    reply = get(server, "/api/skill", name="trip-plan")
    assert reply.status == 200, reply.body
    assert reply.json["content"] == skill_md("trip-plan")
    assert reply.json["files"] == ["scripts/check.sh"]
    assert reply.json["enabled"] is True and reply.json["error"] is None
    assert reply.json["description"] == "Plan a day trip by train."


def test_saving_creates_then_replaces_a_skill_and_a_bad_one_is_refused_with_its_error(
    server, library
):
    created = post(
        server, "/api/skill/save", {"name": "trip-plan", "content": skill_md("trip-plan")}
    )
    assert created.status == 200, created.body
    assert created.json["created"] is True
    assert created.json["skill"]["description"] == "Plan a day trip by train."
    assert (library.folder / "trip-plan" / "SKILL.md").read_text() == skill_md("trip-plan")

    changed = skill_md("trip-plan", "Plan a trip by bus.")
    replaced = post(server, "/api/skill/save", {"name": "trip-plan", "content": changed})
    assert replaced.status == 200 and replaced.json["created"] is False
    assert library.get("trip-plan").description == "Plan a trip by bus."

    for content, error in [
        ("just text", "front matter"),
        (skill_md("other-name"), "name must be 'trip-plan'"),
        ("---\nname: trip-plan\ndescription: [unclosed\n---\nx\n", "not valid YAML"),
        ("---\nname: trip-plan\n---\nx\n", "description"),
    ]:
        reply = post(server, "/api/skill/save", {"name": "trip-plan", "content": content})
        assert_error(reply, 400, error)
    assert library.get("trip-plan").description == "Plan a trip by bus."
    refused = post(server, "/api/skill/save", {"name": "new-one", "content": "just text"})
    assert_error(refused, 400, "front matter")
    assert not (library.folder / "new-one").exists()


def test_deleting_a_skill_removes_its_folder(server, library):
    library.write("trip-plan", "SKILL.md", skill_md("trip-plan"))
    library.write("trip-plan", "notes.txt", "n\n")
    assert post(server, "/api/skill/delete", {"name": "trip-plan"}).json == {"ok": True}
    assert not (library.folder / "trip-plan").exists()
    assert_error(post(server, "/api/skill/delete", {"name": "trip-plan"}), 404)
    assert_error(get(server, "/api/skill", name="trip-plan"), 404)


def system_prompt_and_last_message(server, fake, text: str) -> tuple[str, object]:
    sid = post(server, "/api/session/new", {}).json["session"]["session_id"]
    fake.script(Reply.text("Ok."))
    before = len(fake.requests)
    started = post(server, "/api/chat/start", {"session_id": sid, "message": text})
    assert started.status == 200, started.body
    read_events(server.base, started.json["stream_id"])
    sent = fake.requests[before]["messages"]
    return sent[0]["content"], sent[-1]["content"]


def test_a_disabled_skill_stays_on_disk_but_leaves_new_prompts_and_slash_commands(
    server, library, fake
):
    library.write("trip-plan", "SKILL.md", skill_md("trip-plan"))
    off = post(server, "/api/skill/enable", {"name": "trip-plan", "enabled": False})
    assert off.status == 200, off.body
    assert off.json == {"ok": True, "name": "trip-plan", "enabled": False}
    listed = {s["name"]: s for s in get(server, "/api/skills").json["skills"]}
    assert listed["trip-plan"]["enabled"] is False
    assert (library.folder / "trip-plan" / "SKILL.md").is_file()

    prompt, message = system_prompt_and_last_message(server, fake, "/trip-plan Sintra")
    assert "trip-plan" not in prompt
    assert message == "/trip-plan Sintra", "not invoked: the words go as typed"

    assert post(server, "/api/skill/enable", {"name": "trip-plan", "enabled": True}).status == 200
    prompt, message = system_prompt_and_last_message(server, fake, "/trip-plan Sintra")
    assert "- trip-plan: Plan a day trip by train." in prompt
    assert isinstance(message, list) and "1. Check the trains." in message[-1]["text"]


def test_the_switch_of_an_unknown_skill_is_a_404(server, library):
    assert_error(post(server, "/api/skill/enable", {"name": "nowhere", "enabled": False}), 404)
    assert_error(post(server, "/api/skill/enable", {"name": "nowhere", "enabled": "no"}), 400)


def test_a_skill_exported_and_imported_comes_back_file_for_file(server, library):
    library.write("trip-plan", "SKILL.md", skill_md("trip-plan"))
    library.write("trip-plan", "templates/day.md", "# Day\n")
    exported = get(server, "/api/skill/export", name="trip-plan")
    assert exported.status == 200, exported.body
    assert exported.headers["content-type"] == "application/zip"
    assert 'filename="trip-plan.zip"' in exported.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(exported.body)) as archive:
        assert sorted(archive.namelist()) == ["trip-plan/SKILL.md", "trip-plan/templates/day.md"]
        assert archive.read("trip-plan/SKILL.md").decode() == skill_md("trip-plan")

    library.delete("trip-plan")
    reply = import_zip(server, exported.body)
    assert reply.status == 200, reply.body
    assert reply.json == {"imported": ["trip-plan"], "skipped": [], "existing": []}
    assert library.read("trip-plan") == skill_md("trip-plan")
    assert library.read("trip-plan", "templates/day.md") == "# Day\n"
    assert_error(get(server, "/api/skill/export", name="nowhere"), 404)


def test_a_zip_of_several_skills_and_one_of_a_bare_skill_md_are_both_taken(server, library):
    several = zipped(
        {
            "my-skills/trip-plan/SKILL.md": skill_md("trip-plan"),
            "my-skills/trip-plan/route.txt": "Lisbon\n",
            "my-skills/packing-list/SKILL.md": skill_md("packing-list", "Pack a bag."),
            "my-skills/README.txt": "not part of a skill",
        }
    )
    reply = import_zip(server, several)
    assert reply.status == 200, reply.body
    assert sorted(reply.json["imported"]) == ["packing-list", "trip-plan"]
    assert reply.json["skipped"] == [
        {
            "entry": "my-skills/README.txt",
            "reason": "not inside a skill's folder (one holding SKILL.md)",
        }
    ]
    assert library.read("trip-plan", "route.txt") == "Lisbon\n"

    bare = zipped({"SKILL.md": skill_md("bare-skill", "Loose files."), "notes.md": "n\n"})
    reply = import_zip(server, bare)
    assert reply.json["imported"] == ["bare-skill"], reply.body
    assert library.get("bare-skill").files == ("notes.md",)


def test_importing_over_an_existing_skill_needs_overwrite_which_replaces_it_whole(server, library):
    library.write("trip-plan", "SKILL.md", skill_md("trip-plan"))
    library.write("trip-plan", "old.txt", "stale\n")
    library.set_enabled("trip-plan", False)
    newer = zipped(
        {"trip-plan/SKILL.md": skill_md("trip-plan", "Newer."), "trip-plan/new.txt": "x"}
    )

    kept = import_zip(server, newer)
    assert kept.status == 200 and kept.json["imported"] == []
    assert kept.json["skipped"][0]["entry"] == "trip-plan/"
    assert kept.json["skipped"][0]["reason"] == (
        "not imported: a skill named 'trip-plan' is already installed"
    )
    assert kept.json["existing"] == ["trip-plan"]
    assert (
        library.get(
            "trip-plan",
        ).description
        == "Plan a day trip by train."
    )

    replaced = import_zip(server, newer, overwrite=1)
    assert replaced.json["imported"] == ["trip-plan"], replaced.body
    assert replaced.json["existing"] == []
    assert library.get("trip-plan").description == "Newer."
    assert library.get("trip-plan").files == ("new.txt",)
    assert library.enabled("trip-plan") is False, "replacing keeps the switch"


def test_a_skill_with_a_bad_skill_md_in_a_zip_is_skipped_with_the_parse_error(server, library):
    reply = import_zip(server, zipped({"trip-plan/SKILL.md": skill_md("other-name")}))
    assert reply.status == 200
    assert reply.json["imported"] == []
    assert "name must be 'trip-plan'" in reply.json["skipped"][0]["reason"]
    assert not (library.folder / "trip-plan").exists()


def test_a_body_that_is_not_a_zip_is_a_400(server, library):
    assert_error(import_zip(server, b"PK but not really"), 400, "not a zip")
    assert_error(import_zip(server, b""), 400)


def test_keys_in_a_skill_are_masked_in_replies_and_exports(server, library):
    key = "sk-proj-abcdefghijklmnop123456"
    library.write("trip-plan", "SKILL.md", skill_md("trip-plan", body=f"Use the key {key}."))
    library.write("trip-plan", "env.txt", f"OPENAI_API_KEY={key}\n")
    shown = get(server, "/api/skill", name="trip-plan").json["content"]
    assert "sk-p…[redacted]" in shown and key not in shown
    exported = get(server, "/api/skill/export", name="trip-plan").body
    with zipfile.ZipFile(io.BytesIO(exported)) as archive:
        texts = [archive.read(n).decode() for n in archive.namelist()]
    assert all(key not in text for text in texts)
    assert sum("sk-p…[redacted]" in text for text in texts) == 2
    assert key in library.read("trip-plan"), "the skill on disk keeps what was written"
