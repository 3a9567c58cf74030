"""Escape attempts against the terminal's allowlist, each run for real through `run_tool`.

An allowlisted command runs without asking the user, so whatever it can be made to do — run
code that a repository's configuration names, read a file outside the workspace, write one —
the model can do unasked. Each attempt below starts with an allowlisted word; it must end with
the user being asked (and saying no), with no outside content in the result and no marker file
written outside the workspace. A second table holds hostile inputs that auto-approved git runs
past safely, and a third checks that ordinary allowlisted commands still run without asking.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from hermes_agent.settings import DEFAULT_ALLOWLIST
from hermes_agent.tools.approval import ApprovalPolicy
from hermes_agent.tools.registry import ToolContext, run_tool
from tests.support import Approver

SECRET = "TOP-SECRET-CONTENT"
GIT = "/usr/bin/git"
# The object id git gives the outside secret file, so a test can ask for it by name.
SECRET_BLOB = hashlib.sha1(f"blob {len(SECRET) + 1}\0{SECRET}\n".encode()).hexdigest()


@dataclass(frozen=True)
class World:
    root: Path
    workspace: Path
    outside: Path
    home: Path

    @property
    def marker(self) -> Path:
        return self.outside / "pwned"

    def fill(self, text: str) -> str:
        """`text` with @OUT@ and @HOME@ replaced by this world's absolute paths, and @NOW@ and
        @NOW_OPERAND@ by the current time: were an attempt to set the clock ever to get
        through, it would set it to (almost) what it already is."""
        now = time.gmtime()
        return (
            text.replace("@OUT@", str(self.outside))
            .replace("@HOME@", str(self.home))
            .replace("@NOW@", str(int(time.time())))
            .replace("@NOW_OPERAND@", time.strftime("%m%d%H%M%Y.%S", now))
        )


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    root = tmp_path.resolve()
    workspace = root / "ws"
    (workspace / "sub" / "deeper").mkdir(parents=True)
    (workspace / "sub" / "a.txt").write_text("alpha\n")
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET + "\n")
    (outside / f"{SECRET}.txt").write_text("a name that shows up in listings\n")
    (outside / "names").write_bytes(str(outside / "secret.txt").encode() + b"\0")
    home = root / "home"
    (home / ".hermes").mkdir(parents=True)
    (home / ".hermes" / "config.yaml").write_text(f"api_key: {SECRET}\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    for name in list(os.environ):
        if name.startswith("GIT_"):
            monkeypatch.delenv(name)
    return World(root, workspace, outside, home)


def make_ctx(
    world: World, extra: tuple[str, ...], approver: Approver, protect: str | None = None
) -> ToolContext:
    protected = [world.home / ".hermes"]
    if protect:
        protected.append(world.workspace / protect)
    return ToolContext(
        workspace=world.workspace,
        approval=ApprovalPolicy(mode="ask", allowlist=DEFAULT_ALLOWLIST + extra),
        ask_approval=approver,
        protected_paths=tuple(protected),
        terminal_timeout=5.0,
    )


def call(ctx: ToolContext, command: str) -> tuple[str, bool]:
    return run_tool("terminal", json.dumps({"command": command}), ctx)


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        [GIT, "-c", "init.defaultBranch=main", *args], cwd=cwd, check=True, capture_output=True
    )


def script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def make_repo(path: Path, message: str = "initial") -> Path:
    """A repository with one commit of `tracked.txt`, and an identity set in its own config."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q")
    git(path, "config", "user.name", "Tester")
    git(path, "config", "user.email", "tester@example.invalid")
    (path / "tracked.txt").write_text("one\n")
    git(path, "add", "tracked.txt")
    git(path, "commit", "-q", "-m", message)
    return path


def hostile_repo(*settings: tuple[str, str]) -> Callable[[World], None]:
    """A workspace repository whose own config sets `settings` (@OUT@ etc. filled in)."""

    def setup(world: World) -> None:
        make_repo(world.workspace)
        for key, value in settings:
            git(world.workspace, "config", key, world.fill(value))

    return setup


def touch_marker(world: World) -> str:
    return f"touch {world.marker}"


# --- setups that need more than a config line --------------------------------------------


def link_out(world: World) -> None:
    (world.workspace / "link_out").symlink_to(world.outside)
    (world.workspace / "sub" / "link_out").symlink_to(world.outside)


def private_inside(world: World) -> None:
    (world.workspace / "private").mkdir()
    (world.workspace / "private" / "key.txt").write_text(SECRET + "\n")


def hooks_outside(world: World) -> None:
    script(world.outside / "hooks" / "pre-commit", touch_marker(world))
    hostile_repo(("core.hooksPath", "@OUT@/hooks"))(world)


def external_diff(world: World) -> None:
    tool = script(world.outside / "xdiff", touch_marker(world))
    hostile_repo(("diff.external", str(tool)))(world)
    (world.workspace / "tracked.txt").write_text("two\n")


def clean_filter(world: World) -> None:
    hostile_repo(("filter.x.clean", f"{touch_marker(world)}; cat"))(world)
    (world.workspace / ".gitattributes").write_text("tracked.txt filter=x\n")
    later = time.time() + 5
    os.utime(world.workspace / "tracked.txt", (later, later))


def include_outside(world: World) -> None:
    evil = world.outside / "evil.gitconfig"
    evil.write_text(f'[core]\n\tfsmonitor = "{touch_marker(world)}; echo"\n')
    hostile_repo(("include.path", str(evil)))(world)


def outside_repo(world: World) -> Path:
    """A repository outside the workspace that leaks SECRET and runs the marker if used."""
    repo = make_repo(world.outside / "repo", message=SECRET)
    (repo / f"{SECRET}.txt").write_text("tracked name\n")
    (repo / "secret.txt").write_text(SECRET + "\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", SECRET)
    git(repo, "config", "core.fsmonitor", f"{touch_marker(world)}; echo")
    return repo


def dot_git_file(world: World) -> None:
    repo = outside_repo(world)
    (world.workspace / ".git").write_text(f"gitdir: {repo / '.git'}\n")


def repo_above(world: World) -> None:
    git(world.root, "init", "-q")
    git(world.root, "config", "core.fsmonitor", f"{touch_marker(world)}; echo")


def global_fsmonitor(world: World) -> None:
    make_repo(world.workspace)
    (world.home / ".gitconfig").write_text(f'[core]\n\tfsmonitor = "{touch_marker(world)}; echo"\n')


def global_include_into_workspace(world: World) -> None:
    """The user's global config includes a file the model can write: that file is not theirs."""
    make_repo(world.workspace)
    (world.home / ".gitconfig").write_text(f"[include]\n\tpath = {world.workspace / 'team.cfg'}\n")
    (world.workspace / "team.cfg").write_text(
        f'[core]\n\tfsmonitor = "{touch_marker(world)}; echo"\n'
    )


def borrowed_objects(world: World) -> None:
    repo = outside_repo(world)
    make_repo(world.workspace)
    alternates = world.workspace / ".git" / "objects" / "info" / "alternates"
    alternates.write_text(f"{repo / '.git' / 'objects'}\n")


def linked_objects(world: World) -> None:
    repo = outside_repo(world)
    make_repo(world.workspace)
    objects = world.workspace / ".git" / "objects"
    shutil.rmtree(objects)
    objects.symlink_to(repo / ".git" / "objects")


def repo_and_private(world: World) -> None:
    make_repo(world.workspace)
    private_inside(world)


def plain_repo(world: World) -> None:
    make_repo(world.workspace)


def repo_and_outside_repo(world: World) -> None:
    make_repo(world.workspace)
    outside_repo(world)


# --- escape attempts: each must need the user's approval ---------------------------------


@dataclass(frozen=True)
class Attempt:
    command: str
    extra: tuple[str, ...] = ()  # entries the user added to the allowlist
    setup: Callable[[World], None] | None = None
    reason: str | None = None  # what the question to the user must mention
    protect: str | None = None  # a protected directory inside the workspace


ATTEMPTS = {
    # date reads files and sets the clock
    "date_file": Attempt("date -f @OUT@/secret.txt"),
    "date_file_long": Attempt("date --file=@OUT@/secret.txt"),
    "date_file_abbreviated": Attempt("date --fil=@OUT@/secret.txt"),
    "date_set": Attempt("date -u -s @@NOW@"),
    "date_set_operand": Attempt("date -u @NOW_OPERAND@"),
    "date_reference_outside": Attempt("date -r @OUT@/secret.txt"),
    "date_tz_file": Attempt("date -d 'TZ=\"@OUT@/secret.txt\" now'"),
    # listings and counts outside the workspace
    "ls_home": Attempt("ls ~"),
    "ls_root": Attempt("ls /"),
    "ls_parent": Attempt("ls ../outside"),
    "ls_quoted_parent": Attempt('ls "../outside"'),
    "ls_escaped_parent": Attempt("ls \\../outside"),
    "ls_link_out": Attempt("ls link_out/", setup=link_out),
    "ls_dereference_link": Attempt("ls -L link_out", setup=link_out),
    "ls_dereference_recursive": Attempt("ls -LR sub", setup=link_out),
    "ls_glob_through_link": Attempt("ls *", setup=link_out),
    "ls_glob_parent": Attempt("ls ../*"),
    "echo_glob_outside": Attempt("echo @OUT@/*"),
    "ls_recursive_over_protected": Attempt("ls -R", setup=private_inside, protect="private"),
    "wc_outside": Attempt("wc @OUT@/secret.txt"),
    "wc_dotdot": Attempt("wc -c sub/../../outside/secret.txt"),
    "wc_files0_from": Attempt("wc --files0-from=../outside/names"),
    "du_root": Attempt("du /"),
    "du_files0_from": Attempt("du --files0-from=../outside/names"),
    "du_dereference": Attempt("du -aL sub", setup=link_out),
    # commands the user added
    "head_outside": Attempt("head @OUT@/secret.txt", extra=("head",)),
    "tail_home_config": Attempt("tail @HOME@/.hermes/config.yaml", extra=("tail",)),
    "cat_parent": Attempt("cat ../outside/secret.txt", extra=("cat",)),
    "cat_through_link": Attempt("cat link_out/secret.txt", extra=("cat",), setup=link_out),
    "cat_protected_inside": Attempt(
        "cat private/key.txt", extra=("cat",), setup=private_inside, protect="private"
    ),
    "sort_output": Attempt("sort -o @OUT@/pwned sub/a.txt", extra=("sort",)),
    "sort_compress_program": Attempt(
        "sort -S 1 --compress-program=@OUT@/x sub/a.txt", extra=("sort",)
    ),
    "sort_temporary_directory": Attempt("sort -T @OUT@ sub/a.txt", extra=("sort",)),
    "sort_random_source": Attempt(
        "sort -R --random-source=@OUT@/secret.txt sub/a.txt", extra=("sort",)
    ),
    "grep_dereference_recursive": Attempt("grep -R TOP sub", extra=("grep",), setup=link_out),
    "grep_patterns_from_outside": Attempt("grep -f @OUT@/secret.txt sub/a.txt", extra=("grep",)),
    "grep_recursive_over_protected": Attempt(
        "grep -r TOP .", extra=("grep",), setup=private_inside, protect="private"
    ),
    "file_magic_outside": Attempt("file -m @OUT@/secret.txt sub/a.txt", extra=("file",)),
    "stat_outside": Attempt("stat @OUT@/secret.txt", extra=("stat",)),
    "user_entry_outside_operand": Attempt("touch @OUT@/pwned", extra=("touch",)),
    "user_entry_outside_option_value": Attempt("touch --reference=../outside/x", extra=("touch",)),
    # the shell's own syntax
    "substitution": Attempt("ls $(touch ../outside/pwned)"),
    "backticks": Attempt("ls `touch ../outside/pwned`"),
    "semicolon": Attempt("ls; cat ../outside/secret.txt"),
    "and": Attempt("ls && cat ../outside/secret.txt"),
    "or": Attempt("ls nothing-here || cat ../outside/secret.txt"),
    "pipe": Attempt("echo ../outside/secret.txt | xargs cat"),
    "redirect_out": Attempt("echo owned > ../outside/pwned"),
    "redirect_in": Attempt("wc < ../outside/secret.txt"),
    "newline": Attempt("ls\ncat ../outside/secret.txt"),
    "braces": Attempt("wc {../outside/secret.txt,sub/a.txt}"),
    "assignment_prefix": Attempt("GIT_DIR=../outside/repo/.git git status"),
    "env_prefix": Attempt("env cat ../outside/secret.txt"),
    "command_prefix": Attempt("command ls ../outside"),
    "quoted_command_word": Attempt("'l''s' ../outside"),
    "escaped_command_word": Attempt("l\\s ../outside"),
    # git: configuration that runs code
    "git_fsmonitor": Attempt(
        "git status",
        setup=hostile_repo(("core.fsmonitor", "touch @OUT@/pwned; echo")),
        reason="core.fsmonitor",
    ),
    "git_hooks_path_status": Attempt("git status", setup=hooks_outside, reason="core.hookspath"),
    "git_hooks_path_commit": Attempt(
        "git commit --allow-empty -m x",
        extra=("git commit",),
        setup=hooks_outside,
        reason="core.hookspath",
    ),
    "git_core_pager": Attempt(
        "git status", setup=hostile_repo(("core.pager", "touch @OUT@/pwned; cat")), reason="pager"
    ),
    "git_pager_status": Attempt(
        "git status",
        setup=hostile_repo(("pager.status", "touch @OUT@/pwned; cat")),
        reason="pager.status",
    ),
    "git_diff_external": Attempt(
        "git diff", extra=("git diff",), setup=external_diff, reason="diff.external"
    ),
    "git_clean_filter": Attempt("git status", setup=clean_filter, reason="filter.x.clean"),
    "git_include_outside": Attempt("git status", setup=include_outside, reason="include.path"),
    "git_alias": Attempt(
        "git st",
        extra=("git st",),
        setup=hostile_repo(("alias.st", "!touch @OUT@/pwned")),
        reason="alias.st",
    ),
    "git_global_include_into_workspace": Attempt(
        "git status", setup=global_include_into_workspace, reason="fsmonitor"
    ),
    "git_worktree_outside": Attempt(
        "git status", setup=hostile_repo(("core.worktree", "@OUT@")), reason="core.worktree"
    ),
    # git: a repository that is not the workspace's own
    "git_dot_git_file_outside": Attempt("git status", setup=dot_git_file),
    "git_repo_above_workspace": Attempt("git status", setup=repo_above),
    "git_borrowed_objects": Attempt(
        f"git show {SECRET_BLOB}", extra=("git show",), setup=borrowed_objects
    ),
    "git_objects_linked_outside": Attempt(
        f"git show {SECRET_BLOB}", extra=("git show",), setup=linked_objects
    ),
    "git_protected_inside": Attempt(
        "git log", extra=("git log",), setup=repo_and_private, protect="private"
    ),
    "git_bare_entry_writes": Attempt(
        "git commit --allow-empty -m x", extra=("git",), setup=hooks_outside
    ),
    # git: options and operands that reach outside
    "git_global_config_option": Attempt(
        "git -c core.pager=cat log", extra=("git",), setup=plain_repo
    ),
    "git_git_dir_option": Attempt(
        "git --git-dir=../outside/repo/.git log", extra=("git",), setup=repo_and_outside_repo
    ),
    "git_dash_c_outside": Attempt(
        "git -C ../outside/repo log", extra=("git",), setup=repo_and_outside_repo
    ),
    "git_log_output": Attempt("git log --output=@OUT@/pwned", extra=("git log",), setup=plain_repo),
    "git_log_textconv": Attempt("git log -p --textconv", extra=("git log",), setup=plain_repo),
    "git_status_pathspec_outside": Attempt("git status ../outside", setup=plain_repo),
    "git_log_magic_pathspec": Attempt("git log -- :/", extra=("git log",), setup=plain_repo),
    "git_diff_no_index": Attempt(
        "git diff --no-index ../outside/secret.txt sub/a.txt",
        extra=("git diff",),
        setup=plain_repo,
    ),
    "git_blame_contents": Attempt(
        "git blame --contents ../outside/secret.txt tracked.txt",
        extra=("git blame",),
        setup=plain_repo,
    ),
    "git_branch_creates": Attempt("git branch pwned", extra=("git branch",), setup=plain_repo),
}


@pytest.mark.parametrize("attempt", ATTEMPTS.values(), ids=ATTEMPTS.keys())
def test_escape_attempt_needs_approval_and_reaches_nothing_outside(world, attempt):
    if attempt.setup:
        attempt.setup(world)
    approver = Approver("deny")
    ctx = make_ctx(world, attempt.extra, approver, attempt.protect)
    command = world.fill(attempt.command)
    output, is_error = call(ctx, command)
    assert SECRET not in output
    assert not world.marker.exists()
    assert [asked for asked, _ in approver.asked] == [command], output
    assert is_error
    assert "denied" in output
    if attempt.reason:
        assert attempt.reason in approver.asked[0][1].lower()


def test_allowlist_mode_refuses_an_unsafe_allowlisted_command_and_says_why(world):
    approver = Approver("once")
    ctx = make_ctx(world, (), approver)
    ctx.approval = ApprovalPolicy(mode="allowlist", allowlist=DEFAULT_ALLOWLIST)
    output, is_error = call(ctx, "wc ../outside/secret.txt")
    assert is_error
    assert "../outside/secret.txt is outside the workspace" in output
    assert "approvals are off" in output
    assert approver.asked == []


def test_an_approved_command_still_runs_through_the_shell(world):
    approver = Approver("once")
    ctx = make_ctx(world, (), approver)
    output, is_error = call(ctx, "ls ../outside | wc -l")
    assert (output, is_error) == ("3\n\n[exit code 0]", False)
    assert [asked for asked, _ in approver.asked] == ["ls ../outside | wc -l"]


# --- hostile inputs that auto-approved git runs past safely ------------------------------


@dataclass(frozen=True)
class Neutralised:
    command: str
    extra: tuple[str, ...] = ()
    setup: Callable[[World], None] | None = None
    environ: tuple[tuple[str, str], ...] = ()  # set in the server's own environment


def repo_hooks(world: World) -> None:
    make_repo(world.workspace)
    script(world.workspace / ".git" / "hooks" / "pre-commit", touch_marker(world))


def repo_with_change(world: World) -> None:
    make_repo(world.workspace)
    (world.workspace / "tracked.txt").write_text("two\n")


def repo_with_ssh_remote(world: World) -> None:
    make_repo(world.workspace)
    git(world.workspace, "remote", "add", "origin", "ssh://example.invalid/repo")


def external_diff_tool(world: World) -> None:
    repo_with_change(world)
    script(world.outside / "xdiff", touch_marker(world))


def embedded_repo_with_filter(world: World) -> None:
    """A nested repository recorded as a submodule, whose own config (which git reads only
    when it looks inside the submodule) runs the marker from a clean filter."""
    make_repo(world.workspace)
    inner = make_repo(world.workspace / "inner")
    git(world.workspace, "add", "inner")
    git(world.workspace, "commit", "-q", "-m", "add inner")
    git(inner, "config", "filter.x.clean", f"{touch_marker(world)}; cat")
    (inner / ".gitattributes").write_text("tracked.txt filter=x\n")
    later = time.time() + 5
    os.utime(inner / "tracked.txt", (later, later))


NEUTRALISED = {
    "hooks_in_repository": Neutralised(
        "git commit --allow-empty -m second", extra=("git commit",), setup=repo_hooks
    ),
    "server_git_dir": Neutralised(
        "git status",
        setup=repo_and_outside_repo,
        environ=(("GIT_DIR", "@OUT@/repo/.git"),),
    ),
    "server_git_config_count": Neutralised(
        "git status",
        setup=plain_repo,
        environ=(
            ("GIT_CONFIG_COUNT", "1"),
            ("GIT_CONFIG_KEY_0", "core.fsmonitor"),
            ("GIT_CONFIG_VALUE_0", "touch @OUT@/pwned; echo"),
        ),
    ),
    "server_git_config_parameters": Neutralised(
        "git status",
        setup=plain_repo,
        environ=(("GIT_CONFIG_PARAMETERS", "'core.fsmonitor'='touch @OUT@/pwned; echo'"),),
    ),
    "server_external_diff": Neutralised(
        "git diff",
        extra=("git diff",),
        setup=external_diff_tool,
        environ=(("GIT_EXTERNAL_DIFF", "@OUT@/xdiff"),),
    ),
    "server_ssh_command": Neutralised(
        "git fetch origin",
        extra=("git fetch",),
        setup=repo_with_ssh_remote,
        environ=(("GIT_SSH_COMMAND", "touch @OUT@/pwned; false"),),
    ),
    "submodule_config": Neutralised("git status", setup=embedded_repo_with_filter),
    "users_global_fsmonitor": Neutralised("git status", setup=global_fsmonitor),
}


@pytest.mark.parametrize("case", NEUTRALISED.values(), ids=NEUTRALISED.keys())
def test_git_runs_unasked_without_the_code_its_inputs_name(world, monkeypatch, case):
    if case.setup:
        case.setup(world)
    for name, value in case.environ:
        monkeypatch.setenv(name, world.fill(value))
    approver = Approver("deny")
    output, _ = call(make_ctx(world, case.extra, approver), world.fill(case.command))
    assert approver.asked == []
    assert SECRET not in output
    assert not world.marker.exists()


# --- ordinary commands still run without asking ------------------------------------------


@dataclass(frozen=True)
class Ordinary:
    command: str
    expected: str
    extra: tuple[str, ...] = ()
    setup: Callable[[World], None] | None = None


def harmless_config(world: World) -> None:
    make_repo(world.workspace)
    for key, value in (
        ("core.autocrlf", "false"),
        ("color.ui", "auto"),
        ("remote.origin.url", "https://example.invalid/repo.git"),
        ("branch.main.remote", "origin"),
    ):
        git(world.workspace, "config", key, value)
    (world.workspace / "tracked.txt").write_text("two\n")


def empty_repo(world: World) -> None:
    git(world.workspace, "init", "-q")


ORDINARY = {
    "ls": Ordinary("ls", "sub"),
    "ls_la_sub": Ordinary("ls -la sub", "a.txt"),
    "ls_glob": Ordinary("ls sub/*", "sub/a.txt"),
    "wc_lines": Ordinary("wc -l sub/a.txt", "1 sub/a.txt"),
    "date_year": Ordinary("date +%Y", time.strftime("%Y")),
    "date_utc_format": Ordinary("date -u '+%Y %m'", time.strftime("%Y %m", time.gmtime())),
    "echo": Ordinary("echo hello", "hello"),
    "echo_quoted": Ordinary("echo 'a  b' \"c\"", "a  b c"),
    "pwd": Ordinary("pwd", "/ws"),
    "du_summary": Ordinary("du -sh sub", "sub"),
    "uname": Ordinary("uname -s", "Linux"),
    "cat": Ordinary("cat sub/a.txt", "alpha", extra=("cat",)),
    "head": Ordinary("head -n 1 sub/a.txt", "alpha", extra=("head",)),
    "sort": Ordinary("sort -r sub/a.txt", "alpha", extra=("sort",)),
    "grep_recursive": Ordinary("grep -rn alpha .", "a.txt:1:alpha", extra=("grep",)),
    "user_entry": Ordinary("touch made.txt", "", extra=("touch",)),
    "git_status_empty_repo": Ordinary("git status", "No commits yet", setup=empty_repo),
    "git_status_harmless_config": Ordinary(
        "git status --short", "M tracked.txt", setup=harmless_config
    ),
    "git_log": Ordinary("git log --oneline", "initial", extra=("git log",), setup=plain_repo),
    "git_diff": Ordinary("git diff", "+two", extra=("git diff",), setup=repo_with_change),
    "git_show_file": Ordinary(
        "git show HEAD:tracked.txt", "one", extra=("git show",), setup=plain_repo
    ),
    "git_commit": Ordinary(
        "git commit --allow-empty -m second", "second", extra=("git commit",), setup=plain_repo
    ),
    "git_longest_entry_wins": Ordinary(
        "git commit --allow-empty -m second",
        "second",
        extra=("git", "git commit"),
        setup=plain_repo,
    ),
    "git_dash_c_inside": Ordinary(
        "git -C sub status --short", "??", extra=("git",), setup=plain_repo
    ),
}


@pytest.mark.parametrize("case", ORDINARY.values(), ids=ORDINARY.keys())
def test_ordinary_allowlisted_commands_run_without_asking(world, case):
    if case.setup:
        case.setup(world)
    approver = Approver("deny")
    output, is_error = call(make_ctx(world, case.extra, approver), case.command)
    assert approver.asked == []
    assert not is_error, output
    assert case.expected in output
    assert output.endswith("[exit code 0]"), output


def test_quoted_glob_characters_stay_literal(world):
    approver = Approver("deny")
    output, _ = call(make_ctx(world, (), approver), "ls sub/'*'")
    assert approver.asked == []
    assert "sub/*" in output
    assert "No such file" in output
