"""The agent's tools: workspace confinement, file tools, the terminal and its approval policy.

Every call goes through `run_tool`, the path the agent uses, so a refusal is always an error
result for the model and never an exception.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
import yaml

from hermes_agent.errors import ToolError
from hermes_agent.settings import DEFAULT_ALLOWLIST
from hermes_agent.tools.approval import ApprovalPolicy
from hermes_agent.tools.registry import ToolContext, run_tool, tools_named
from tests.support import Approver

SECRET = "TOP-SECRET-CONTENT"


def call(ctx: ToolContext, name: str, **arguments: object) -> tuple[str, bool]:
    return run_tool(name, json.dumps(arguments), ctx)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "sub" / "deeper").mkdir(parents=True)
    (ws / "sub" / "a.txt").write_text("alpha\n")
    (ws / "sub" / "deeper" / "b.txt").write_text("bravo\n")
    return ws.resolve()


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    out = tmp_path / "outside"
    out.mkdir()
    (out / "secret.txt").write_text(SECRET + "\n")
    return out.resolve()


def make_ctx(workspace: Path, **kwargs: object) -> ToolContext:
    kwargs.setdefault("approval", ApprovalPolicy(mode="ask", allowlist=DEFAULT_ALLOWLIST))
    return ToolContext(workspace=workspace, **kwargs)


@pytest.fixture
def ctx(workspace: Path) -> ToolContext:
    return make_ctx(workspace)


def off_ctx(workspace: Path, **kwargs: object) -> ToolContext:
    return make_ctx(workspace, approval=ApprovalPolicy(mode="off"), **kwargs)


def split_status(output: str) -> tuple[str, str]:
    """A terminal result as (the command's output, the closing status line)."""
    text, _, status = output.rpartition("\n")
    return text.rstrip("\n"), status


def assert_outside_refused(result: tuple[str, bool]) -> None:
    output, is_error = result
    assert is_error
    assert "outside the workspace" in output
    assert SECRET not in output


# --- workspace confinement ---------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["../outside/secret.txt", "sub/../../outside/secret.txt", "../../etc/passwd", "/etc/passwd"],
)
def test_read_file_refuses_paths_that_leave_the_workspace(ctx, outside, path):
    assert_outside_refused(call(ctx, "read_file", path=path))


def test_read_file_refuses_an_absolute_path_outside_the_workspace(ctx, outside):
    assert_outside_refused(call(ctx, "read_file", path=str(outside / "secret.txt")))


def test_write_file_refuses_relative_and_absolute_paths_outside_and_writes_nothing(ctx, outside):
    for path in ("../outside/new.txt", str(outside / "new2.txt")):
        assert_outside_refused(call(ctx, "write_file", path=path, content="x"))
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def test_edit_file_refuses_a_path_outside_and_leaves_it_unchanged(ctx, outside):
    result = call(
        ctx, "edit_file", path="../outside/secret.txt", old_string=SECRET, new_string="owned"
    )
    assert_outside_refused(result)
    assert (outside / "secret.txt").read_text() == SECRET + "\n"


def test_home_directory_paths_are_refused(ctx, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / "secret.txt").write_text(SECRET)
    monkeypatch.setenv("HOME", str(home))
    assert_outside_refused(call(ctx, "read_file", path="~/secret.txt"))
    assert_outside_refused(call(ctx, "list_dir", path="~"))
    assert_outside_refused(call(ctx, "write_file", path="~/new.txt", content="x"))
    assert not (home / "new.txt").exists()


def test_symlinked_file_pointing_outside_is_refused_for_reading_and_writing(
    ctx, workspace, outside
):
    (workspace / "link.txt").symlink_to(outside / "secret.txt")
    assert_outside_refused(call(ctx, "read_file", path="link.txt"))
    assert_outside_refused(call(ctx, "write_file", path="link.txt", content="owned"))
    result = call(ctx, "edit_file", path="link.txt", old_string=SECRET, new_string="owned")
    assert_outside_refused(result)
    assert (outside / "secret.txt").read_text() == SECRET + "\n"


def test_dangling_symlink_pointing_outside_is_not_written_through(ctx, workspace, outside):
    (workspace / "dangling.txt").symlink_to(outside / "created.txt")
    assert_outside_refused(call(ctx, "write_file", path="dangling.txt", content="x"))
    assert not (outside / "created.txt").exists()


def test_symlinked_directory_pointing_outside_is_refused(ctx, workspace, outside):
    (workspace / "outdir").symlink_to(outside, target_is_directory=True)
    assert_outside_refused(call(ctx, "read_file", path="outdir/secret.txt"))
    assert_outside_refused(call(ctx, "list_dir", path="outdir"))
    assert_outside_refused(call(ctx, "search_files", pattern=SECRET, path="outdir"))
    assert_outside_refused(call(ctx, "write_file", path="outdir/new.txt", content="x"))
    assert not (outside / "new.txt").exists()


def test_search_from_the_root_does_not_follow_a_symlink_out_of_the_workspace(
    ctx, workspace, outside
):
    (workspace / "outdir").symlink_to(outside, target_is_directory=True)
    (workspace / "outfile.txt").symlink_to(outside / "secret.txt")
    assert call(ctx, "search_files", pattern=SECRET) == ("No matches.", False)


def test_paths_with_a_nul_byte_are_refused(ctx, workspace):
    output, is_error = call(ctx, "read_file", path="sub/a.txt\x00.png")
    assert is_error
    assert "NUL" in output
    output, is_error = call(ctx, "write_file", path="new\x00.txt", content="x")
    assert is_error
    assert sorted(p.name for p in workspace.iterdir()) == ["sub"]


def test_protected_directory_inside_the_workspace_is_refused(workspace):
    home = workspace / ".hermes"
    home.mkdir()
    (home / "config.yaml").write_text("api_key: " + SECRET + "\n")
    ctx = make_ctx(workspace, protected_paths=(home,))
    for name, args in [
        ("read_file", {"path": ".hermes/config.yaml"}),
        ("read_file", {"path": str(home / "config.yaml")}),
        ("list_dir", {"path": ".hermes"}),
        ("search_files", {"pattern": SECRET, "path": ".hermes"}),
        ("edit_file", {"path": ".hermes/config.yaml", "old_string": "a", "new_string": "b"}),
    ]:
        output, is_error = call(ctx, name, **args)
        assert is_error, name
        assert "protected" in output
        assert SECRET not in output


def test_search_from_the_workspace_root_does_not_reveal_a_protected_directory(workspace):
    home = workspace / ".hermes"
    home.mkdir()
    (home / "config.yaml").write_text("api_key: " + SECRET + "\n")
    (workspace / "notes.txt").write_text("nothing to see\n")
    ctx = make_ctx(workspace, protected_paths=(home,))
    output, is_error = call(ctx, "search_files", pattern=SECRET)
    assert not is_error
    assert SECRET not in output
    assert output == "No matches."


def test_write_file_refuses_config_yaml_in_a_protected_hermes_home_inside_the_workspace(
    workspace,
):
    home = workspace / ".hermes"
    home.mkdir()
    config = home / "config.yaml"
    config.write_text("approval_mode: ask\n")
    (workspace / "homelink").symlink_to(home, target_is_directory=True)
    ctx = make_ctx(workspace, protected_paths=(home,))
    for path in (".hermes/config.yaml", "homelink/config.yaml", "sub/../.hermes/config.yaml"):
        output, is_error = call(ctx, "write_file", path=path, content="approval_mode: off\n")
        assert is_error, path
        assert "protected" in output
    assert config.read_text() == "approval_mode: ask\n"


def test_write_file_refuses_a_protected_hermes_home_that_does_not_exist_yet(workspace):
    home = workspace / ".hermes"
    ctx = make_ctx(workspace, protected_paths=(home,))
    output, is_error = call(ctx, "write_file", path=".hermes/config.yaml", content="x: 1\n")
    assert is_error
    assert "protected" in output
    assert not home.exists()


def test_nested_relative_and_absolute_paths_inside_the_workspace_are_allowed(ctx, workspace):
    assert call(ctx, "read_file", path="sub/deeper/b.txt") == ("bravo\n", False)
    assert call(ctx, "read_file", path="./sub/../sub/a.txt") == ("alpha\n", False)
    assert call(ctx, "read_file", path=str(workspace / "sub" / "a.txt")) == ("alpha\n", False)


def test_symlinks_that_stay_inside_the_workspace_are_allowed(ctx, workspace):
    (workspace / "alias.txt").symlink_to(workspace / "sub" / "a.txt")
    (workspace / "alias_dir").symlink_to(workspace / "sub", target_is_directory=True)
    assert call(ctx, "read_file", path="alias.txt") == ("alpha\n", False)
    assert call(ctx, "read_file", path="alias_dir/deeper/b.txt") == ("bravo\n", False)
    output, is_error = call(ctx, "write_file", path="alias_dir/c.txt", content="charlie")
    assert (output, is_error) == ("Wrote 7 bytes to sub/c.txt", False)
    assert (workspace / "sub" / "c.txt").read_text() == "charlie"


# --- file tools ----------------------------------------------------------------------------


def test_read_file_returns_text(ctx, workspace):
    (workspace / "poem.txt").write_text("line one\nlíne two ✓\n", encoding="utf-8")
    assert call(ctx, "read_file", path="poem.txt") == ("line one\nlíne two ✓\n", False)


def test_read_file_refuses_a_binary_file(ctx, workspace):
    (workspace / "blob.bin").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    output, is_error = call(ctx, "read_file", path="blob.bin")
    assert is_error
    assert "binary" in output


def test_read_file_of_a_missing_file_or_a_directory_is_an_error(ctx):
    output, is_error = call(ctx, "read_file", path="missing.txt")
    assert is_error
    assert "not a file" in output
    output, is_error = call(ctx, "read_file", path="sub")
    assert is_error
    assert "not a file" in output


def test_read_file_truncates_a_large_file_and_says_so(ctx, workspace):
    line = "0123456789abcdef" * 4 + "\n"
    content = line * 10_000  # 650 KB
    (workspace / "big.txt").write_text(content)
    output, is_error = call(ctx, "read_file", path="big.txt")
    assert not is_error
    assert len(output) < len(content)
    assert content.startswith(output.split("\n…")[0])
    assert "…" in output[-120:]
    assert "not shown" in output[-120:] or "continues" in output[-120:]


def test_write_file_creates_parent_directories_and_overwrites(ctx, workspace):
    output, is_error = call(ctx, "write_file", path="new/dir/file.txt", content="héllo")
    assert not is_error
    assert "new/dir/file.txt" in output
    assert (workspace / "new" / "dir" / "file.txt").read_text(encoding="utf-8") == "héllo"
    call(ctx, "write_file", path="new/dir/file.txt", content="bye")
    assert (workspace / "new" / "dir" / "file.txt").read_text() == "bye"


def test_write_file_refuses_a_directory_and_a_non_string_content(ctx, workspace):
    output, is_error = call(ctx, "write_file", path="sub", content="x")
    assert is_error
    assert "directory" in output
    output, is_error = call(ctx, "write_file", path="n.txt", content=42)
    assert is_error
    assert "content" in output
    assert not (workspace / "n.txt").exists()


def test_edit_file_replaces_a_single_exact_match(ctx, workspace):
    target = workspace / "code.py"
    target.write_text("x = 1\ny = 2\n")
    output, is_error = call(ctx, "edit_file", path="code.py", old_string="y = 2", new_string="y=3")
    assert not is_error
    assert "1 occurrence" in output
    assert target.read_text() == "x = 1\ny=3\n"


def test_edit_file_reports_text_that_is_not_found_and_leaves_the_file(ctx, workspace):
    target = workspace / "code.py"
    target.write_text("x = 1\n")
    output, is_error = call(ctx, "edit_file", path="code.py", old_string="X = 1", new_string="z")
    assert is_error
    assert "not found" in output
    assert target.read_text() == "x = 1\n"


def test_edit_file_refuses_an_ambiguous_match_unless_replace_all(ctx, workspace):
    target = workspace / "code.py"
    target.write_text("a\na\na\n")
    output, is_error = call(ctx, "edit_file", path="code.py", old_string="a", new_string="b")
    assert is_error
    assert "3 times" in output
    assert target.read_text() == "a\na\na\n"
    output, is_error = call(
        ctx, "edit_file", path="code.py", old_string="a", new_string="b", replace_all=True
    )
    assert not is_error
    assert "3 occurrence" in output
    assert target.read_text() == "b\nb\nb\n"


def test_edit_file_on_a_file_that_is_not_utf8_is_an_error_result(ctx, workspace):
    target = workspace / "latin1.txt"
    target.write_bytes("café\n".encode("latin-1"))
    output, is_error = call(ctx, "edit_file", path="latin1.txt", old_string="caf", new_string="x")
    assert is_error
    assert output.startswith("Error:")
    assert target.read_bytes() == "café\n".encode("latin-1")


def test_list_dir_lists_directories_first_with_a_slash(ctx, workspace):
    (workspace / "zeta.txt").write_text("")
    (workspace / "Alpha.txt").write_text("")
    (workspace / "empty").mkdir()
    assert call(ctx, "list_dir") == ("empty/\nsub/\nAlpha.txt\nzeta.txt", False)
    assert call(ctx, "list_dir", path="sub") == ("deeper/\na.txt", False)
    assert call(ctx, "list_dir", path="empty") == ("(empty directory)", False)
    output, is_error = call(ctx, "list_dir", path="zeta.txt")
    assert is_error
    assert "not a directory" in output


@pytest.fixture
def searchable(workspace: Path) -> Path:
    (workspace / "src").mkdir()
    (workspace / "src" / "main.py").write_text("def main():\n    return 'Hello'\n")
    (workspace / "src" / "notes.md").write_text("hello notes\nabc\n")
    (workspace / "src" / "pattern.txt").write_text("a.c literal\n")
    (workspace / ".git").mkdir()
    (workspace / ".git" / "config").write_text("hello from git\n")
    (workspace / "image.bin").write_bytes(b"hello\x00\x01")
    return workspace


def test_search_files_plain_text_is_case_insensitive_and_skips_git_and_binaries(ctx, searchable):
    output, is_error = call(ctx, "search_files", pattern="hello")
    assert not is_error
    assert output.splitlines() == [
        "src/main.py:2: return 'Hello'",
        "src/notes.md:1: hello notes",
    ]


def test_search_files_plain_text_treats_regex_characters_literally(ctx, searchable):
    assert call(ctx, "search_files", pattern="a.c") == ("src/pattern.txt:1: a.c literal", False)


def test_search_files_with_a_regex(ctx, searchable):
    output, is_error = call(ctx, "search_files", pattern=r"^a.c$", regex=True)
    assert (output, is_error) == ("src/notes.md:2: abc", False)


def test_search_files_filters_by_glob_and_path(ctx, searchable):
    assert call(ctx, "search_files", pattern="hello", glob="*.py") == (
        "src/main.py:2: return 'Hello'",
        False,
    )
    assert call(ctx, "search_files", pattern="hello", path="src/notes.md") == (
        "src/notes.md:1: hello notes",
        False,
    )
    assert call(ctx, "search_files", pattern="hello", glob="*.rs") == ("No matches.", False)


def test_search_files_reports_an_invalid_regex(ctx, searchable):
    output, is_error = call(ctx, "search_files", pattern="(unclosed", regex=True)
    assert is_error
    assert "invalid regular expression" in output


def test_todo_sets_and_gets_the_list(ctx):
    todos = [{"content": "write tests", "status": "in_progress"}, {"content": "ship"}]
    output, is_error = call(ctx, "todo", todos=todos)
    assert not is_error
    expected = [
        {"content": "write tests", "status": "in_progress"},
        {"content": "ship", "status": "pending"},
    ]
    assert json.loads(output) == expected
    assert json.loads(call(ctx, "todo")[0]) == expected
    assert ctx.todos == expected


def test_todo_refuses_a_bad_status_and_keeps_the_list(ctx):
    call(ctx, "todo", todos=[{"content": "keep me"}])
    output, is_error = call(ctx, "todo", todos=[{"content": "x", "status": "finished"}])
    assert is_error
    assert "status must be one of" in output
    output, is_error = call(ctx, "todo", todos=[{"status": "done"}])
    assert is_error
    assert ctx.todos == [{"content": "keep me", "status": "pending"}]


# --- run_tool ------------------------------------------------------------------------------


def test_run_tool_reports_an_unknown_tool(ctx):
    output, is_error = run_tool("format_disk", "{}", ctx)
    assert is_error
    assert "no tool named 'format_disk'" in output


@pytest.mark.parametrize("raw", ["{not json", '{"path": ', "nul\x00"])
def test_run_tool_reports_malformed_json_arguments(ctx, raw):
    output, is_error = run_tool("read_file", raw, ctx)
    assert is_error
    assert "not valid JSON" in output


@pytest.mark.parametrize("raw", ["[]", '"sub/a.txt"', "42", "null", "true"])
def test_run_tool_reports_arguments_that_are_not_an_object(ctx, raw):
    output, is_error = run_tool("read_file", raw, ctx)
    assert is_error
    assert output.startswith("Error:")


def test_run_tool_treats_empty_arguments_as_an_empty_object(ctx):
    output, is_error = run_tool("read_file", "", ctx)
    assert is_error
    assert "path must be a non-empty string" in output
    assert run_tool("list_dir", "", ctx) == ("sub/", False)


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("read_file", {"path": 7}),
        ("write_file", {"path": ["a"], "content": "x"}),
        ("edit_file", {"path": "sub/a.txt", "old_string": None, "new_string": "x"}),
        ("search_files", {"pattern": "a", "glob": 5}),
        ("todo", {"todos": "not a list"}),
        ("terminal", {"command": ["ls"]}),
        ("terminal", {"command": "pwd", "timeout": "soon"}),
        ("terminal", {"command": "echo a\x00b"}),
    ],
    ids=[
        "read_file-path-number",
        "write_file-path-list",
        "edit_file-old-string-null",
        "search_files-glob-number",
        "todo-todos-string",
        "terminal-command-list",
        "terminal-timeout-not-a-number",
        "terminal-command-with-nul",
    ],
)
def test_run_tool_turns_wrong_argument_types_into_error_results(workspace, name, arguments):
    output, is_error = call(off_ctx(workspace), name, **arguments)
    assert is_error
    assert output.startswith("Error:")


def test_tools_named_returns_tools_with_schemas_and_rejects_unknown_names():
    tools = tools_named(["read_file", "terminal"])
    assert [t.schema()["function"]["name"] for t in tools] == ["read_file", "terminal"]
    assert tools[1].schema()["function"]["parameters"]["required"] == ["command"]
    with pytest.raises(ToolError, match="nope"):
        tools_named(["read_file", "nope"])


# --- terminal ------------------------------------------------------------------------------


def test_terminal_runs_in_the_workspace(workspace):
    output, is_error = call(off_ctx(workspace), "terminal", command="pwd")
    assert not is_error
    assert split_status(output) == (str(workspace), "[exit code 0]")


def test_terminal_reports_the_exit_code(workspace):
    output, is_error = call(off_ctx(workspace), "terminal", command="echo oops; exit 3")
    assert split_status(output) == ("oops", "[exit code 3]")
    assert not is_error
    assert call(off_ctx(workspace), "terminal", command="true") == ("[exit code 0]", False)


def test_terminal_timeout_kills_the_command_and_its_children(workspace):
    ctx = off_ctx(workspace, terminal_timeout=0.5)
    started = time.monotonic()
    output, _ = call(ctx, "terminal", command="sleep 30 & echo $! > child.pid; wait")
    assert time.monotonic() - started < 5
    assert "[command timed out after 0.5 s]" in output
    assert_process_gone(int((workspace / "child.pid").read_text()))


def test_terminal_timeout_argument_cannot_exceed_the_configured_limit(workspace):
    ctx = off_ctx(workspace, terminal_timeout=0.5)
    started = time.monotonic()
    output, _ = call(ctx, "terminal", command="sleep 10", timeout=600)
    assert time.monotonic() - started < 5
    assert "[command timed out after 0.5 s]" in output


def test_terminal_timeout_argument_of_nan_does_not_disable_the_limit(workspace):
    ctx = off_ctx(workspace, terminal_timeout=0.5)
    started = time.monotonic()
    output, _ = run_tool("terminal", '{"command": "sleep 3", "timeout": NaN}', ctx)
    assert time.monotonic() - started < 2.5
    assert "[exit code 0]" not in output


def test_terminal_timeout_applies_to_a_background_child_that_holds_the_output(workspace):
    ctx = off_ctx(workspace, terminal_timeout=0.5)
    started = time.monotonic()
    call(ctx, "terminal", command="sleep 3 & echo $! > child.pid")
    assert time.monotonic() - started < 2.5
    assert_process_gone(int((workspace / "child.pid").read_text()))


def assert_process_gone(pid: int) -> None:
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} is still running")


def test_terminal_output_is_capped(workspace):
    output, is_error = call(off_ctx(workspace), "terminal", command="head -c 30000 /dev/zero")
    assert not is_error
    assert len(output) < 20_200
    assert "10000 more bytes not shown" in output
    assert output.endswith("[exit code 0]")


def test_terminal_command_with_large_output_finishes_instead_of_stalling(workspace):
    ctx = off_ctx(workspace, terminal_timeout=3)
    command = "head -c 300000 /dev/zero | tr '\\0' a"
    started = time.monotonic()
    output, _ = call(ctx, "terminal", command=command)
    assert time.monotonic() - started < 2.5
    assert output.endswith("[exit code 0]")
    assert "280000 more bytes not shown" in output


def test_terminal_child_environment_has_no_secrets(workspace, monkeypatch):
    secrets = {
        "OPENAI_API_KEY": "sk-openai-secret-1",
        "ANTHROPIC_API_KEY": "sk-ant-secret-2",
        "HERMES_API_KEY": "sk-hermes-secret-3",
        "TELEGRAM_BOT_TOKEN": "123:telegram-secret-4",
        "HERMES_WEBUI_PASSWORD": "password-secret-5",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HERMES_VISIBLE_SETTING", "plain-value")
    output, is_error = call(off_ctx(workspace), "terminal", command="env")
    assert not is_error
    assert "HERMES_VISIBLE_SETTING=plain-value" in output
    for name, value in secrets.items():
        assert value not in output
        assert name not in output


def test_cancel_event_stops_a_long_command(workspace):
    ctx = off_ctx(workspace)
    timer = threading.Timer(0.3, ctx.cancel.set)
    timer.start()
    started = time.monotonic()
    output, _ = call(ctx, "terminal", command="sleep 20; touch finished")
    timer.join()
    assert time.monotonic() - started < 5
    assert "[command interrupted]" in output
    assert not (workspace / "finished").exists()


# --- approval ------------------------------------------------------------------------------


def ask_ctx(workspace: Path, answer: str | None) -> tuple[ToolContext, Approver | None]:
    approver = Approver(answer) if answer is not None else None
    return make_ctx(workspace, ask_approval=approver), approver


def test_ask_mode_denied_command_never_runs(workspace):
    ctx, approver = ask_ctx(workspace, "deny")
    output, is_error = call(ctx, "terminal", command="touch marker")
    assert is_error
    assert "denied" in output
    assert approver.asked == [("touch marker", "not on the allowlist")]
    assert not (workspace / "marker").exists()


def test_ask_mode_once_runs_the_command_and_asks_again_next_time(workspace):
    ctx, approver = ask_ctx(workspace, "once")
    assert call(ctx, "terminal", command="touch marker") == ("[exit code 0]", False)
    assert (workspace / "marker").exists()
    call(ctx, "terminal", command="touch marker")
    assert len(approver.asked) == 2


def test_ask_mode_session_runs_the_command_and_does_not_ask_again(workspace):
    ctx, approver = ask_ctx(workspace, "session")
    assert call(ctx, "terminal", command="touch marker") == ("[exit code 0]", False)
    assert (workspace / "marker").exists()
    (workspace / "marker").unlink()
    approver.answer = "deny"
    assert call(ctx, "terminal", command="touch marker") == ("[exit code 0]", False)
    assert (workspace / "marker").exists()
    assert len(approver.asked) == 1
    output, is_error = call(ctx, "terminal", command="touch other")
    assert is_error
    assert "denied" in output
    assert not (workspace / "other").exists()
    assert len(approver.asked) == 2


def test_an_unknown_answer_from_the_user_counts_as_a_denial(workspace):
    ctx, _ = ask_ctx(workspace, "maybe")
    output, is_error = call(ctx, "terminal", command="touch marker")
    assert is_error
    assert "denied" in output
    assert not (workspace / "marker").exists()


def test_ask_mode_without_a_callback_refuses(workspace):
    ctx, _ = ask_ctx(workspace, None)
    output, is_error = call(ctx, "terminal", command="touch marker")
    assert is_error
    assert "approval" in output
    assert not (workspace / "marker").exists()


def test_allowlisted_commands_run_without_asking(workspace):
    ctx, approver = ask_ctx(workspace, "deny")
    output, is_error = call(ctx, "terminal", command="echo hi there")
    assert (split_status(output), is_error) == (("hi there", "[exit code 0]"), False)
    output, is_error = call(ctx, "terminal", command="pwd")
    assert (split_status(output), is_error) == ((str(workspace), "[exit code 0]"), False)
    assert approver.asked == []


def test_allowlist_mode_refuses_other_commands_without_asking(workspace):
    approver = Approver("once")
    policy = ApprovalPolicy(mode="allowlist", allowlist=DEFAULT_ALLOWLIST)
    ctx = make_ctx(workspace, approval=policy, ask_approval=approver)
    output, is_error = call(ctx, "terminal", command="touch marker")
    assert is_error
    assert "allowlist" in output
    assert not (workspace / "marker").exists()
    output, is_error = call(ctx, "terminal", command="echo ok")
    assert (split_status(output), is_error) == (("ok", "[exit code 0]"), False)
    assert approver.asked == []


def test_off_mode_runs_everything_without_asking(workspace):
    approver = Approver("deny")
    ctx = make_ctx(workspace, approval=ApprovalPolicy(mode="off"), ask_approval=approver)
    assert call(ctx, "terminal", command="touch marker") == ("[exit code 0]", False)
    assert (workspace / "marker").exists()
    assert approver.asked == []


def test_allowlist_matches_whole_leading_words():
    policy = ApprovalPolicy(mode="allowlist", allowlist=("ls", "git status"))
    assert policy.is_allowlisted("ls")
    assert policy.is_allowlisted("ls -la sub")
    assert policy.is_allowlisted("git status --short")
    assert not policy.is_allowlisted("lsblk")
    assert not policy.is_allowlisted("git push")
    assert not policy.is_allowlisted("git")
    assert not policy.is_allowlisted("   ")
    assert not policy.is_allowlisted("ls 'unterminated")
    assert policy.decide("ls") == "run"
    assert policy.decide("rm -rf sub") == "deny"
    assert ApprovalPolicy(mode="ask", allowlist=("ls",)).decide("rm -rf sub") == "ask"
    assert ApprovalPolicy(mode="off").decide("rm -rf sub") == "run"


# Each command starts with an allowlisted word and would create `pwned` if it ran.
INJECTIONS = {
    "semicolon": "ls; touch pwned",
    "and": "ls && touch pwned",
    "background": "ls & touch pwned",
    "pipe_to_shell": "ls | sh",
    "substitution": "ls $(touch pwned)",
    "backticks": "ls `touch pwned`",
    "redirection": "echo hi > pwned",
    "newline": "ls\ntouch pwned",
}


def prepare_injection(workspace: Path, command: str) -> None:
    if command == "ls | sh":
        (workspace / "sub").rename(workspace / "touch pwned")


@pytest.mark.parametrize("command", INJECTIONS.values(), ids=INJECTIONS.keys())
def test_injected_commands_would_create_the_marker_if_run(workspace, command):
    prepare_injection(workspace, command)
    call(off_ctx(workspace), "terminal", command=command)
    assert (workspace / "pwned").exists()


@pytest.mark.parametrize("command", INJECTIONS.values(), ids=INJECTIONS.keys())
def test_shell_control_characters_are_never_allowlisted(command):
    assert not ApprovalPolicy(mode="allowlist", allowlist=DEFAULT_ALLOWLIST).is_allowlisted(command)


@pytest.mark.parametrize("command", INJECTIONS.values(), ids=INJECTIONS.keys())
def test_ask_mode_asks_about_injected_commands_and_denial_prevents_them(workspace, command):
    prepare_injection(workspace, command)
    ctx, approver = ask_ctx(workspace, "deny")
    output, is_error = call(ctx, "terminal", command=command)
    assert is_error
    assert "denied" in output
    assert approver.asked == [(command, "not on the allowlist")]
    assert not (workspace / "pwned").exists()


@pytest.mark.parametrize("command", INJECTIONS.values(), ids=INJECTIONS.keys())
def test_allowlist_mode_refuses_injected_commands(workspace, command):
    prepare_injection(workspace, command)
    approver = Approver("once")
    policy = ApprovalPolicy(mode="allowlist", allowlist=DEFAULT_ALLOWLIST)
    ctx = make_ctx(workspace, approval=policy, ask_approval=approver)
    output, is_error = call(ctx, "terminal", command=command)
    assert is_error
    assert "allowlist" in output
    assert approver.asked == []
    assert not (workspace / "pwned").exists()


def test_approval_policy_is_frozen():
    policy = ApprovalPolicy(mode="ask", allowlist=("ls",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.mode = "off"
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.allowlist = ("sh",)
    assert policy == ApprovalPolicy(mode="ask", allowlist=("ls",))


def test_the_agent_cannot_turn_approvals_off_through_the_terminal(workspace, tmp_path):
    home = tmp_path / "hermes-home"
    home.mkdir()
    config = home / "config.yaml"
    config.write_text("approval_mode: ask\n")
    policy = ApprovalPolicy(mode="ask", allowlist=DEFAULT_ALLOWLIST)
    assert policy.decide("hermes config set approval_mode off") == "ask"
    # The same change spelled so that it really works when run.
    command = f"env HERMES_HOME={home} {sys.executable} -m hermes_cli config set approval_mode off"
    assert policy.decide(command) == "ask"

    ctx, approver = ask_ctx(workspace, "deny")
    for attempt in ("hermes config set approval_mode off", command):
        output, is_error = call(ctx, "terminal", command=attempt)
        assert is_error
    assert [asked for asked, _ in approver.asked] == [
        "hermes config set approval_mode off",
        command,
    ]
    assert config.read_text() == "approval_mode: ask\n"
    assert ctx.approval.mode == "ask"

    strict = ApprovalPolicy(mode="allowlist", allowlist=DEFAULT_ALLOWLIST)
    output, is_error = call(make_ctx(workspace, approval=strict), "terminal", command=command)
    assert is_error
    assert config.read_text() == "approval_mode: ask\n"

    # Approved, the command does change the file: the refusals above are what protect it.
    output, is_error = call(off_ctx(workspace), "terminal", command=command)
    assert not is_error, output
    assert yaml.safe_load(config.read_text()) == {"approval_mode": "off"}


def test_read_file_pages_through_a_long_file_with_offset_and_limit(ctx, workspace):
    (workspace / "lines.txt").write_text("".join(f"line {i}\n" for i in range(1, 11)))
    first, _ = call(ctx, "read_file", path="lines.txt", limit=3)
    assert first.startswith("line 1\nline 2\nline 3\n")
    assert "offset=4" in first
    rest, _ = call(ctx, "read_file", path="lines.txt", offset=9)
    assert rest == "line 9\nline 10\n"
    bad, is_error = call(ctx, "read_file", path="lines.txt", offset=0)
    assert is_error and "offset" in bad
