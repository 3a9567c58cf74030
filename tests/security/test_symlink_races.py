"""The file tools under a symlink race, and writes into a repository's `.git`.

Between the moment a tool checks a path and the moment it uses it, anything else that can
write in the workspace (a command the agent ran, another process) can swap a file or a
directory for a symbolic link to somewhere outside. A background thread keeps swapping while
the agent's tools run thousands of times through `run_tool`; not once may a result show
outside content, nor a write land outside.

Repository metadata is code too: a `core.fsmonitor` line in `.git/config` runs on the next
`git status`, whoever runs it (the user, or the agent through its allowlist). So writing
inside a `.git` needs the user's approval, like a command.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from hermes_agent.settings import DEFAULT_ALLOWLIST
from hermes_agent.tools import confined
from hermes_agent.tools.approval import ApprovalPolicy
from hermes_agent.tools.files import GIT_WRITE_REASON, MAX_MATCHES
from hermes_agent.tools.registry import ToolContext, run_tool
from tests.support import Approver

SECRET = "TOP-SECRET-CONTENT"
INSIDE = "inside notes\n"
TRIES = 3000

_LIBC = ctypes.CDLL(None, use_errno=True)
_RENAMEAT2 = getattr(_LIBC, "renameat2", None)
AT_FDCWD = -100
RENAME_EXCHANGE = 2


def make_ctx(workspace: Path, **kwargs: object) -> ToolContext:
    kwargs.setdefault("approval", ApprovalPolicy(mode="ask", allowlist=DEFAULT_ALLOWLIST))
    return ToolContext(workspace=workspace, **kwargs)


def call(ctx: ToolContext, name: str, **arguments: object) -> tuple[str, bool]:
    return run_tool(name, json.dumps(arguments), ctx)


def exchange(a: Path, b: Path) -> None:
    """Swap two names in one step, so a directory and a link trade places with no gap."""
    if _RENAMEAT2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(a))


# --- the scene -----------------------------------------------------------------------------


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "d").mkdir(parents=True)
    (ws / "d" / "notes.txt").write_text(INSIDE)
    (ws / "notes.txt").write_text(INSIDE)
    return ws.resolve()


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """An outside directory whose file names and content both give the secret away."""
    out = tmp_path / "outside"
    out.mkdir()
    write_outside(out)
    return out.resolve()


def write_outside(out: Path) -> None:
    for name in os.listdir(out):
        (out / name).unlink()
    for name, text in outside_files().items():
        (out / name).write_text(text)
        os.utime(out / name, ns=(0, 0))  # any write at all moves the time on


def outside_files() -> dict[str, str]:
    return {"notes.txt": f"{SECRET} notes\n", f"{SECRET}.txt": f"{SECRET}\n"}


def snapshot(directory: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every entry with its inode, modification time and bytes: a write of any kind shows."""
    state = {}
    for entry in os.scandir(directory):
        info = entry.stat(follow_symlinks=False)
        data = Path(entry.path).read_bytes() if entry.is_file(follow_symlinks=False) else b""
        state[entry.name] = (info.st_ino, info.st_mtime_ns, data)
    return state


def secret_in(directory: Path) -> bool:
    """Whether any file under `directory` holds the secret, looked at without following links
    (the swapper is still running, and following one would find the original outside)."""
    for _, _, files, dir_fd in os.fwalk(directory):
        for name in files:
            try:
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
            except OSError:
                continue
            with os.fdopen(fd, "rb") as f:
                if SECRET.encode() in f.read():
                    return True
    return False


def open_fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


# --- swappers: each flips one name between an inside object and a link out ----------------


def swap_file(name: Path, stage: Path, target: Path, stop: threading.Event) -> None:
    real, link = stage / "real", stage / "link"
    while not stop.is_set():
        real.write_text(INSIDE)
        os.rename(real, name)
        link.symlink_to(target)
        os.rename(link, name)


def swap_dir(name: Path, stage: Path, target: Path, stop: threading.Event) -> None:
    # A link cannot be renamed over a directory, so the two trade places in one step instead.
    link = stage / "dir-link"
    link.symlink_to(target, target_is_directory=True)
    while not stop.is_set():
        exchange(name, link)


class Race:
    """Runs a swapper in the background and counts what got out while it ran."""

    def __init__(self, swapper: Callable[[threading.Event], None], outside: Path) -> None:
        self.swapper = swapper
        self.outside = outside
        self.stop = threading.Event()
        self.errors: list[Exception] = []
        self.leaks = 0
        self.copies = 0
        self.writes = 0
        self.outputs: set[str] = set()

    def _swap(self) -> None:
        try:
            self.swapper(self.stop)
        except Exception as exc:  # reported by the test, which asserts there were none
            self.errors.append(exc)

    def run(self, ctx: ToolContext, name: str, arguments: dict[str, object]) -> None:
        raw = json.dumps(arguments)
        before = snapshot(self.outside)
        thread = threading.Thread(target=self._swap, daemon=True)
        # Hand the interpreter between the threads far more often than the default 5 ms, so a
        # swap can land between any two steps of a tool, not only around its system calls.
        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-5)
        thread.start()
        try:
            for _ in range(TRIES):
                output, _ = run_tool(name, raw, ctx)
                self.outputs.add(output)
                self.leaks += SECRET in output
                self.copies += secret_in(ctx.workspace)
                if snapshot(self.outside) != before:
                    self.writes += 1
                    write_outside(self.outside)
                    before = snapshot(self.outside)
        finally:
            self.stop.set()
            thread.join()
            sys.setswitchinterval(interval)


RACES = {
    "read_file-file": ("read_file", {"path": "notes.txt"}, "file"),
    "read_file-parent": ("read_file", {"path": "d/notes.txt"}, "dir"),
    "write_file-file": ("write_file", {"path": "notes.txt", "content": "written\n"}, "file"),
    "write_file-parent": ("write_file", {"path": "d/new.txt", "content": "written\n"}, "dir"),
    "edit_file-file": (
        "edit_file",
        {"path": "notes.txt", "old_string": "notes", "new_string": "notes"},
        "file",
    ),
    "edit_file-parent": (
        "edit_file",
        {"path": "d/notes.txt", "old_string": "notes", "new_string": "notes"},
        "dir",
    ),
    "list_dir-dir": ("list_dir", {"path": "d"}, "dir"),
    "search_files-file": ("search_files", {"pattern": "notes"}, "file"),
    "search_files-parent": ("search_files", {"pattern": "notes"}, "dir"),
}


@pytest.mark.parametrize("case", RACES.values(), ids=RACES.keys())
def test_swapping_a_path_for_a_link_out_never_lets_a_tool_read_or_write_outside(
    tmp_path, workspace, outside, case
):
    tool, arguments, swapped = case
    stage = tmp_path / "stage"
    stage.mkdir()
    if swapped == "file":
        target, name = outside / "notes.txt", workspace / "notes.txt"
        race = Race(lambda stop: swap_file(name, stage, target, stop), outside)
    else:
        assert _RENAMEAT2 is not None, "swapping a directory for a link needs renameat2"
        race = Race(lambda stop: swap_dir(workspace / "d", stage, outside, stop), outside)
    fds = open_fd_count()

    race.run(make_ctx(workspace), tool, arguments)

    assert race.errors == []
    assert (race.leaks, race.copies, race.writes) == (0, 0, 0)
    assert snapshot(outside).keys() == outside_files().keys()
    assert {n: (outside / n).read_text() for n in outside_files()} == outside_files()
    assert open_fd_count() == fds
    assert len(race.outputs) > 1  # both states of the swapped name were met


# --- descriptors and links that stay inside ------------------------------------------------


def test_file_tools_leave_no_descriptor_open_over_many_calls_that_succeed_or_fail(
    workspace, outside
):
    (workspace / "many").mkdir()
    for i in range(MAX_MATCHES + 20):
        (workspace / "many" / f"f{i}.txt").write_text("match\n")
    (workspace / "blob.bin").write_bytes(b"\x00\x01")
    (workspace / "out").symlink_to(outside, target_is_directory=True)
    calls = [  # (tool, arguments, whether it fails)
        ("read_file", {"path": "notes.txt"}, False),
        ("read_file", {"path": "d"}, True),
        ("read_file", {"path": "blob.bin"}, True),
        ("read_file", {"path": "missing.txt"}, True),
        ("write_file", {"path": "new/deeper/x.txt", "content": "x"}, False),
        ("write_file", {"path": "d", "content": "x"}, True),
        ("write_file", {"path": "notes.txt/x", "content": "x"}, True),
        ("edit_file", {"path": "notes.txt", "old_string": "notes", "new_string": "notes"}, False),
        ("edit_file", {"path": "blob.bin", "old_string": "a", "new_string": "b"}, True),
        ("list_dir", {"path": "d"}, False),
        ("list_dir", {"path": "notes.txt"}, True),
        ("search_files", {"pattern": "match"}, False),  # stops early, mid-walk
        ("search_files", {"pattern": "notes", "path": "notes.txt"}, False),
        ("search_files", {"pattern": "x", "glob": 5}, True),  # fails mid-walk
    ]
    ctx = make_ctx(workspace)
    for name, arguments, fails in calls:
        output, is_error = call(ctx, name, **arguments)
        assert is_error is fails, (name, arguments, output)
    assert call(ctx, "search_files", pattern="match")[0].endswith(f"at {MAX_MATCHES} matches")
    before = open_fd_count()
    for _ in range(50):
        for name, arguments, _ in calls:
            call(ctx, name, **arguments)
    assert open_fd_count() == before


def test_links_that_stay_inside_the_workspace_still_work_for_every_tool(workspace):
    (workspace / "alias.txt").symlink_to(workspace / "notes.txt")
    (workspace / "alias_dir").symlink_to(workspace / "d", target_is_directory=True)
    ctx = make_ctx(workspace)
    assert call(ctx, "read_file", path="alias.txt") == (INSIDE, False)
    assert call(ctx, "read_file", path="alias_dir/notes.txt") == (INSIDE, False)
    assert call(ctx, "list_dir", path="alias_dir") == ("notes.txt", False)
    found = call(ctx, "search_files", pattern="inside", path="alias_dir")
    assert found == ("d/notes.txt:1: inside notes", False)
    wrote = call(ctx, "write_file", path="alias_dir/new.txt", content="new")
    assert wrote == ("Wrote 3 bytes to d/new.txt", False)
    edited = call(ctx, "edit_file", path="alias.txt", old_string="inside", new_string="edited")
    assert edited == ("Replaced 1 occurrence(s) in notes.txt", False)
    assert (workspace / "d" / "new.txt").read_text() == "new"
    assert (workspace / "notes.txt").read_text() == "edited notes\n"
    assert (workspace / "alias.txt").is_symlink()


def test_a_workspace_reached_through_a_link_still_works(tmp_path, workspace):
    (tmp_path / "ws-link").symlink_to(workspace, target_is_directory=True)
    ctx = make_ctx(tmp_path / "ws-link")
    assert call(ctx, "read_file", path="d/notes.txt") == (INSIDE, False)
    assert call(ctx, "write_file", path="d/x.txt", content="x") == (
        "Wrote 1 bytes to d/x.txt",
        False,
    )
    assert call(ctx, "list_dir", path="d") == ("notes.txt\nx.txt", False)


def test_a_loop_of_links_is_an_error_result(workspace):
    (workspace / "loop").symlink_to("loop")
    for name in ("read_file", "write_file", "list_dir", "search_files"):
        output, is_error = call(make_ctx(workspace), name, path="loop", content="", pattern="x")
        assert is_error
        assert "symbolic link" in output


def test_write_file_keeps_permission_bits_and_leaves_no_temporary_file(workspace):
    script = workspace / "run.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o750)
    ctx = make_ctx(workspace)
    assert not call(ctx, "write_file", path="run.sh", content="#!/bin/sh\necho hi\n")[1]
    assert not call(ctx, "edit_file", path="run.sh", old_string="hi", new_string="ho")[1]
    assert script.read_text() == "#!/bin/sh\necho ho\n"
    assert script.stat().st_mode & 0o7777 == 0o750
    assert sorted(os.listdir(workspace)) == ["d", "notes.txt", "run.sh"]


def test_a_named_pipe_is_not_read_and_does_not_hang_a_tool(workspace):
    os.mkfifo(workspace / "pipe")
    ctx = make_ctx(workspace)
    assert call(ctx, "read_file", path="pipe") == ("Error: pipe is not a file", True)
    assert call(ctx, "search_files", pattern="notes", path="pipe") == ("No matches.", False)
    assert call(ctx, "search_files", pattern="inside")[0].splitlines() == [
        "notes.txt:1: inside notes",
        "d/notes.txt:1: inside notes",
    ]


# --- confined: opening inside a root without following links -------------------------------


def test_confined_opens_refuse_a_link_in_any_component_and_close_what_they_opened(
    workspace, outside
):
    (workspace / "out").symlink_to(outside, target_is_directory=True)
    (workspace / "d" / "secret.txt").symlink_to(outside / "notes.txt")
    before = open_fd_count()
    for parts in [("out", "notes.txt"), ("d", "secret.txt")]:
        with pytest.raises(confined.LinkRefused), confined.open_file(workspace, parts):
            pass
    with pytest.raises(confined.LinkRefused), confined.open_dir(workspace, ("out",)):
        pass
    making = confined.open_dir(workspace, ("out", "made"), create=True)
    with pytest.raises(confined.LinkRefused), making:
        pass
    assert open_fd_count() == before
    assert sorted(os.listdir(outside)) == sorted(outside_files())


def test_confined_replace_file_replaces_a_planted_link_instead_of_writing_through_it(
    workspace, outside
):
    (workspace / "d" / "target.txt").symlink_to(outside / "notes.txt")
    with confined.open_dir(workspace, ("d",)) as parent:
        confined.replace_file(parent, "target.txt", b"replaced\n")
    assert (workspace / "d" / "target.txt").read_text() == "replaced\n"
    assert not (workspace / "d" / "target.txt").is_symlink()
    assert (outside / "notes.txt").read_text() == outside_files()["notes.txt"]


def test_confined_walk_neither_enters_nor_lists_links(workspace, outside):
    (workspace / "out").symlink_to(outside, target_is_directory=True)
    (workspace / "d" / "link.txt").symlink_to(outside / "notes.txt")
    (workspace / "d" / "skipped").mkdir()
    (workspace / "d" / "skipped" / "x.txt").write_text("x")
    with confined.open_dir(workspace) as top:
        walked = [
            (below, names)
            for below, _, names in confined.walk(top, lambda below: below[-1] == "skipped")
        ]
    assert walked == [((), ["notes.txt"]), (("d",), ["notes.txt"])]


# --- writing inside .git needs the user's approval -----------------------------------------

FSMONITOR = "[core]\n\tfsmonitor = touch PWNED\n"
GIT_PATHS = [".git/config", "sub/.git/hooks/pre-commit", ".GIT/config", ".git", "sub/.Git"]


def tree(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


@pytest.mark.parametrize("path", [*GIT_PATHS, ".g\u200cit/config"])
def test_writing_inside_git_asks_the_user_and_a_denial_writes_nothing(workspace, path):
    approver = Approver("deny")
    ctx = make_ctx(workspace, ask_approval=approver)
    before = tree(workspace)
    output, is_error = call(ctx, "write_file", path=path, content=FSMONITOR)
    assert (output, is_error) == (f"Error: the user denied writing {path}", True)
    assert approver.asked == [(f"write {path}", GIT_WRITE_REASON)]
    assert tree(workspace) == before


@pytest.mark.parametrize("answer", ["once", "always"])
@pytest.mark.parametrize("path", GIT_PATHS)
def test_writing_inside_git_proceeds_when_the_user_approves_and_asks_each_time(
    workspace, path, answer
):
    approver = Approver(answer)
    ctx = make_ctx(workspace, ask_approval=approver)
    for _ in range(2):
        assert call(ctx, "write_file", path=path, content=FSMONITOR)[1] is False
    assert (workspace / path).read_text() == FSMONITOR
    assert approver.asked == [(f"write {path}", GIT_WRITE_REASON)] * 2


def test_a_session_approval_covers_later_writes_of_that_path_only(workspace):
    approver = Approver("session")
    ctx = make_ctx(workspace, ask_approval=approver)
    call(ctx, "write_file", path=".git/config", content=FSMONITOR)
    approver.answer = "deny"
    assert call(ctx, "write_file", path=".git/config", content="")[1] is False
    output, is_error = call(ctx, "write_file", path=".git/HEAD", content="ref: x\n")
    assert (output, is_error) == ("Error: the user denied writing .git/HEAD", True)
    assert [asked for asked, _ in approver.asked] == ["write .git/config", "write .git/HEAD"]
    assert ctx.session_approved == {"write .git/config"}


def test_writing_inside_git_with_no_one_to_ask_is_refused(workspace):
    output, is_error = call(make_ctx(workspace), "write_file", path=".git/config", content="")
    assert is_error
    assert "approval" in output
    assert not (workspace / ".git").exists()


def test_writing_inside_git_needs_no_approval_when_approvals_are_off(workspace):
    approver = Approver("deny")
    ctx = make_ctx(workspace, approval=ApprovalPolicy(mode="off"), ask_approval=approver)
    assert call(ctx, "write_file", path=".git/config", content=FSMONITOR)[1] is False
    assert (workspace / ".git" / "config").read_text() == FSMONITOR
    assert approver.asked == []


def test_allowlist_mode_refuses_writing_inside_git_without_asking(workspace):
    approver = Approver("once")
    policy = ApprovalPolicy(mode="allowlist", allowlist=DEFAULT_ALLOWLIST)
    ctx = make_ctx(workspace, approval=policy, ask_approval=approver)
    output, is_error = call(ctx, "write_file", path=".git/config", content=FSMONITOR)
    assert is_error
    assert "approval" in output
    assert approver.asked == []
    assert not (workspace / ".git").exists()


def test_editing_inside_git_asks_too_and_a_denial_leaves_the_file(workspace):
    config = workspace / ".git" / "config"
    config.parent.mkdir()
    config.write_text("[core]\n\tbare = false\n")
    approver = Approver("deny")
    ctx = make_ctx(workspace, ask_approval=approver)
    edit = {"path": ".git/config", "old_string": "bare = false", "new_string": "fsmonitor = x"}
    assert call(ctx, "edit_file", **edit) == ("Error: the user denied writing .git/config", True)
    assert config.read_text() == "[core]\n\tbare = false\n"
    approver.answer = "once"
    assert call(ctx, "edit_file", **edit) == ("Replaced 1 occurrence(s) in .git/config", False)
    assert config.read_text() == "[core]\n\tfsmonitor = x\n"
    assert approver.asked == [("write .git/config", GIT_WRITE_REASON)] * 2


def test_a_link_to_git_is_judged_by_where_it_leads(workspace):
    (workspace / ".git").mkdir()
    (workspace / "meta").symlink_to(workspace / ".git", target_is_directory=True)
    approver = Approver("deny")
    ctx = make_ctx(workspace, ask_approval=approver)
    assert call(ctx, "write_file", path="meta/config", content=FSMONITOR)[1] is True
    assert approver.asked == [("write .git/config", GIT_WRITE_REASON)]
    assert not (workspace / ".git" / "config").exists()


def test_reading_inside_git_and_writing_names_that_merely_contain_git_do_not_ask(workspace):
    (workspace / ".git").mkdir()
    (workspace / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    approver = Approver("deny")
    ctx = make_ctx(workspace, ask_approval=approver)
    assert call(ctx, "read_file", path=".git/HEAD") == ("ref: refs/heads/main\n", False)
    assert call(ctx, "list_dir", path=".git") == ("HEAD", False)
    for path in (".gitignore", ".github/workflows/ci.yml", "git/config", "x.git/config"):
        assert call(ctx, "write_file", path=path, content="x")[1] is False
    assert approver.asked == []


@pytest.fixture
def repository(tmp_path: Path, workspace: Path) -> Path:
    assert shutil.which("git"), "git is needed to plant a hostile repository"
    git(tmp_path, "init", "-q", str(workspace))
    return workspace


def git(home: Path, *arguments: str) -> subprocess.CompletedProcess:
    """Git as the user would run it in the workspace, without their own or the system config."""
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *arguments], env=env, capture_output=True, check=True)


def test_an_fsmonitor_command_in_git_config_runs_on_the_next_git_status(tmp_path, repository):
    """The attack is real: once the line is written, any `git status` there runs it."""
    config = (repository / ".git" / "config").read_text()
    writer = make_ctx(repository, approval=ApprovalPolicy(mode="off"))
    assert call(writer, "write_file", path=".git/config", content=config + FSMONITOR)[1] is False
    git(tmp_path, "-C", str(repository), "status")
    assert (repository / "PWNED").exists()


def test_the_agent_cannot_plant_an_fsmonitor_command_when_the_user_denies(tmp_path, repository):
    config = (repository / ".git" / "config").read_text()
    approver = Approver("deny")
    ctx = make_ctx(repository, ask_approval=approver)
    output, is_error = call(ctx, "write_file", path=".git/config", content=config + FSMONITOR)
    assert (output, is_error) == ("Error: the user denied writing .git/config", True)
    git(tmp_path, "-C", str(repository), "status")
    assert approver.asked == [("write .git/config", GIT_WRITE_REASON)]
    assert (repository / ".git" / "config").read_text() == config
    assert not (repository / "PWNED").exists()
