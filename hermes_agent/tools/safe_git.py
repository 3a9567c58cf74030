"""Git commands that run without asking: read-only, in the workspace's own repository, with
none of the programs git's configuration can name.

Git runs programs its configuration names — an fsmonitor hook, hooks, a pager, an external
diff, textconv and clean/smudge filters, `!` aliases — and a repository's configuration is the
repository's own, which may be hostile (a cloned repository, or one the model has written
to). An allowlisted git command therefore runs without asking only when:

- the server's GIT_* variables are gone from its environment, and the environment says: no
  system config, no repository above the workspace (whose files lie outside it), no pager, no
  prompts, no optional locks, and an editor that fails;
- `-c` overrides switch off what configuration could switch on: fsmonitor, hooks, the pager,
  ssh, every transport protocol, and descending into submodules (whose configuration is never
  read); diff, log and show get `--no-ext-diff --no-textconv`, blame `--no-textconv`;
- the repository git finds — its git dir and common dir — lies inside the workspace, has no
  symbolic link leading out of it and borrows no objects from elsewhere
  (objects/info/alternates), and no protected directory lies inside the workspace (git could
  show its files from history);
- no key in `RISKY_KEYS` comes from configuration the agent could have written: the
  repository's and worktree's (`git config --list --includes`, run with the same environment;
  reading configuration runs nothing), or any file inside the workspace, even when the user's
  global config includes it. The user's own global config (`~/.gitconfig`, outside the
  workspace, which no tool may write without asking) is theirs: its git-lfs filters or
  credential helpers run as they would in the user's terminal, while the overrides above still
  switch off its fsmonitor, hooks, pager and ssh command;
- the subcommand is one of the read-only ones in `SUBCOMMANDS` and every option is in its
  table, or the user's allowlist entry names the subcommand itself (`git commit`), which then
  gets the generic argument check of `safe_commands`. A bare `git` entry allows only the
  read-only subcommands, and of git's own options only those in `GLOBAL_FLAGS` and `-C` into a
  directory of the workspace. Operands starting with `:` (magic pathspecs, `:/text`) are
  refused; every other operand, revision or path, must read as a path inside the workspace.
"""

from __future__ import annotations

import fnmatch
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from hermes_agent.tools.command_options import OptionTable, Parsed, names
from hermes_agent.tools.command_scope import Invocation, Scope, Unsafe
from hermes_agent.tools.safe_commands import SafeCommand, check_generic

INSPECT_TIMEOUT = 10.0
MAX_GIT_DIR_ENTRIES = 50_000
ENVIRONMENT = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_PAGER": "cat",
    "PAGER": "cat",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_OPTIONAL_LOCKS": "0",
    "GIT_EDITOR": "false",  # nothing interactive can run here
}
OVERRIDES = (
    "core.fsmonitor=false",
    "core.hooksPath=/dev/null",
    "core.pager=cat",
    "core.sshCommand=false",
    "protocol.allow=never",
    "diff.ignoreSubmodules=all",
    "status.submoduleSummary=false",
    "submodule.recurse=false",
)
GLOBAL_FLAGS = names("--no-pager -P --no-optional-locks --literal-pathspecs --no-replace-objects")
PREPENDED = {
    "diff": ("--no-ext-diff", "--no-textconv"),
    "log": ("--no-ext-diff", "--no-textconv"),
    "show": ("--no-ext-diff", "--no-textconv"),
    "blame": ("--no-textconv",),
}
# Configuration keys (lower case, fnmatch patterns) that make git run a program, or read or
# write files that need not be in the workspace.
RISKY_KEYS = (
    "alias.*",
    "core.alternaterefscommand",
    "core.askpass",
    "core.attributesfile",
    "core.editor",
    "core.excludesfile",
    "core.fsmonitor",
    "core.gitproxy",
    "core.hookspath",
    "core.pager",
    "core.sshcommand",
    "core.worktree",
    "credential.*helper*",
    "diff.*.command",
    "diff.*.textconv",
    "diff.external",
    "diff.orderfile",
    "difftool.*.cmd",
    "filter.*",
    "gpg.*program",
    "gpg.ssh.defaultkeycommand",
    "hook.*",
    "http.*cookiefile",
    "http.*proxy*",
    "http.*sslca*",
    "http.*sslcert*",
    "http.*sslkey*",
    "include.*",
    "includeif.*",
    "init.templatedir",
    "interactive.difffilter",
    "blame.ignorerevsfile",
    "commit.template",
    "mailmap.file",
    "merge.*.driver",
    "mergetool.*.cmd",
    "pager.*",
    "protocol.*",
    "receive.*",
    "remote.*.proxy",
    "remote.*.receivepack",
    "remote.*.uploadpack",
    "safe.directory",
    "sequence.editor",
    "ssh.*",
    "submodule.*.update",
    "trailer.*",
    "uploadarchive.*",
    "uploadpack.*",
)
SCOPE_NAMES = {
    "local": "the repository's git config",
    "worktree": "the worktree's git config",
    "global": "your global git config",
}


def git_operands(parsed: Parsed) -> tuple[str, ...]:
    for operand in parsed.operands:
        if operand.startswith(":"):
            raise Unsafe(f"{operand} is a magic pathspec or an index path")
    return parsed.operands


LIST_MODE = names("-l --list --contains --no-contains --merged --no-merged --points-at")


def branch_operands(parsed: Parsed) -> tuple[str, ...]:
    if parsed.operands and not parsed.given & LIST_MODE:
        raise Unsafe("a name without --list creates a branch")
    return git_operands(parsed)


DIFF_FLAGS = (
    " -p -u --patch -s --no-patch --raw --patch-with-raw --patch-with-stat --numstat --shortstat"
    " --summary --name-only --name-status --check -z --full-index --binary --no-renames -R"
    " --no-prefix --minimal --patience --histogram -w --ignore-all-space -b"
    " --ignore-space-change --ignore-space-at-eol --ignore-blank-lines --ignore-cr-at-eol"
    " --no-color --no-color-moved -a --text --exit-code --quiet --ita-invisible-in-index"
    " --no-ext-diff --no-textconv --irreversible-delete -D --compact-summary --cumulative"
    " -W --function-context --pickaxe-all --pickaxe-regex"
)
# Values of git's options are taken only when attached (`--stat=80`): a separate word would
# be checked as an operand, which is stricter than git.
DIFF_OPTIONAL = (
    " --stat --dirstat --color --color-moved --word-diff --color-words --abbrev -U --unified"
    " -M --find-renames -C --find-copies -B --break-rewrites --diff-filter --diff-algorithm"
    " --word-diff-regex --src-prefix --dst-prefix --line-prefix --inter-hunk-context"
    " --ws-error-highlight --find-object --anchored"
)
LOG_FLAGS = (
    " --oneline --graph --all --reverse --merges --no-merges --first-parent --abbrev-commit"
    " --no-abbrev-commit --no-decorate --relative-date --topo-order --date-order"
    " --author-date-order --full-history --simplify-by-decoration --left-right --cherry-pick"
    " --cherry-mark --cherry --boundary --parents --children --follow -i --regexp-ignore-case"
    " -E --extended-regexp -F --fixed-strings --basic-regexp --all-match --invert-grep"
    " --source --remove-empty --dense --sparse --ancestry-path --no-notes -m -c --cc -t -r"
)
LOG_OPTIONAL = (
    " --decorate --pretty --format --date --since --after --until --before --author"
    " --committer --grep --max-count --skip --branches --tags --remotes --glob --exclude"
    " --max-parents --min-parents --diff-merges --no-walk"
)
LOG = OptionTable(
    flags=names(DIFF_FLAGS + LOG_FLAGS),
    values=names("-n -S -G"),
    optional=names(DIFF_OPTIONAL + LOG_OPTIONAL),
    numeric=True,
)

SUBCOMMANDS: dict[str, SafeCommand] = {
    "status": SafeCommand(
        OptionTable(
            flags=names(
                "-s --short -b --branch --show-stash --long -v --verbose -z --ahead-behind"
                " --no-ahead-behind --renames --no-renames --no-column"
            ),
            optional=names("--porcelain -u --untracked-files --ignored --find-renames"),
        ),
        git_operands,
    ),
    "log": SafeCommand(LOG, git_operands),
    "show": SafeCommand(LOG, git_operands),
    "diff": SafeCommand(
        OptionTable(
            flags=names(DIFF_FLAGS + " --cached --staged --merge-base -0 -1 --base -2 --ours -3"),
            values=names("-S -G"),
            optional=names(DIFF_OPTIONAL),
        ),
        git_operands,
    ),
    "branch": SafeCommand(
        OptionTable(
            flags=names(
                "-a --all -r --remotes -v --verbose -l --list --show-current --no-color"
                " -i --ignore-case --no-abbrev --omit-empty"
            ),
            values=names("--contains --no-contains --merged --no-merged --points-at"),
            optional=names("--color --abbrev --sort --format"),
        ),
        branch_operands,
    ),
    "ls-files": SafeCommand(
        OptionTable(
            flags=names(
                "-c --cached -d --deleted -m --modified -o --others -i --ignored -s --stage"
                " -u --unmerged -k --killed -z -t -v -f --directory --no-empty-directory --eol"
                " --full-name --deduplicate --exclude-standard --error-unmatch --sparse --debug"
            ),
            values=names("-x --exclude"),
            optional=names("--abbrev --format"),
        ),
        git_operands,
    ),
    "blame": SafeCommand(
        OptionTable(
            flags=names(
                "-b --root --show-stats -l -t -s -e --show-email -n --show-number -f"
                " --show-name -p --porcelain --line-porcelain -c -w --incremental --minimal"
                " --color-lines --color-by-age --first-parent --no-textconv --reverse"
                " --score-debug"
            ),
            values=names("-L"),
            optional=names("--abbrev -M -C --date --ignore-rev"),
        ),
        git_operands,
    ),
    "rev-parse": SafeCommand(
        OptionTable(
            flags=names(
                "--verify -q --quiet --symbolic --symbolic-full-name --show-toplevel"
                " --show-prefix --show-cdup --git-dir --absolute-git-dir --git-common-dir"
                " --is-inside-work-tree --is-inside-git-dir --is-bare-repository"
                " --is-shallow-repository --all"
            ),
            optional=names("--short --abbrev-ref --branches --tags --remotes"),
        ),
        git_operands,
    ),
}


def plan(
    argv: list[str], entry: tuple[str, ...], scope: Scope, env: Mapping[str, str]
) -> Invocation:
    """How `argv` (a git command matching allowlist `entry`) runs, if it may run unasked."""
    if len(entry) > 1:
        own, sub, args, inner = [], argv[1], argv[2:], scope
    else:
        own, sub, args, inner = _global_options(argv[1:], scope)
    _check_arguments(sub, args, inner, user_named=len(entry) > 1)
    if any(p.is_relative_to(scope.workspace) for p in scope.protected):
        raise Unsafe("git: the workspace holds a protected directory, which git could show")
    git_env = _hardened_environment(env, scope.workspace)
    executable = scope.executable("git", env)
    _check_repository(executable, git_env, inner)
    overrides = [arg for setting in OVERRIDES for arg in ("-c", setting)]
    full = ["git", "--no-pager", *overrides, *own, sub, *PREPENDED.get(sub, ()), *args]
    return Invocation(executable, tuple(full), git_env, scope.cwd)


def _hardened_environment(env: Mapping[str, str], workspace: Path) -> dict[str, str]:
    clean = {name: value for name, value in env.items() if not name.startswith("GIT_")}
    clean.update(ENVIRONMENT)
    clean["GIT_CEILING_DIRECTORIES"] = str(workspace.parent)
    return clean


def _global_options(args: list[str], scope: Scope) -> tuple[list[str], str, list[str], Scope]:
    """Git's own options before the subcommand (for a bare `git` entry): those kept, the
    subcommand, its arguments, and the scope `-C` leads to."""
    own: list[str] = []
    i = 0
    while i < len(args) and args[i].startswith("-"):
        if args[i] == "-C" and i + 1 < len(args):
            try:
                scope = scope.within(args[i + 1])
            except Unsafe as exc:
                raise Unsafe(f"git -C: {exc}") from None
            own += args[i : i + 2]
            i += 2
        elif args[i] in GLOBAL_FLAGS:
            own.append(args[i])
            i += 1
        else:
            raise Unsafe(f"git: {args[i]} is not an option known to be safe")
    if i >= len(args):
        raise Unsafe("git: no subcommand")
    return own, args[i], args[i + 1 :], scope


def _check_arguments(sub: str, args: list[str], scope: Scope, user_named: bool) -> None:
    command = SUBCOMMANDS.get(sub)
    if command is None and not user_named:
        raise Unsafe(f"git {sub} is not one of the read-only subcommands")
    try:
        if command is not None:
            command.check(args, scope)
        else:
            check_generic(args, scope)
    except Unsafe as exc:
        raise Unsafe(f"git {sub}: {exc}") from None


def _check_repository(executable: str, env: dict[str, str], scope: Scope) -> None:
    for which in ("--git-dir", "--git-common-dir"):
        found = _git(executable, env, scope.cwd, "rev-parse", "--path-format=absolute", which)
        if found is None:
            raise Unsafe("git finds no repository of its own in the workspace")
        directory = Path(os.path.realpath(found.removesuffix("\n")))
        if not directory.is_relative_to(scope.workspace):
            raise Unsafe(f"the repository's git directory {directory} is outside the workspace")
        _check_links(directory, scope.workspace)
    if (directory / "objects" / "info" / "alternates").exists():
        raise Unsafe("the repository borrows objects from elsewhere (objects/info/alternates)")
    listing = _git(
        executable,
        env,
        scope.cwd,
        "config",
        "--list",
        "--show-scope",
        "--show-origin",
        "--includes",
        "-z",
    )
    if listing is None:
        raise Unsafe("git cannot read the repository's configuration")
    _check_configuration(listing, scope.workspace)


def _check_links(directory: Path, workspace: Path) -> None:
    """No symbolic link in the git directory leads out of the workspace: git reads whatever
    its objects, refs and logs point to. A clone never makes such links; an unpacked archive
    or an earlier command can."""
    pending = [directory]
    seen = 0
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                seen += 1
                if seen > MAX_GIT_DIR_ENTRIES:
                    raise Unsafe("the repository's git directory is too large to check")
                if entry.is_symlink():
                    if not Path(os.path.realpath(entry.path)).is_relative_to(workspace):
                        raise Unsafe(f"{entry.path} links outside the workspace")
                elif entry.is_dir():
                    pending.append(Path(entry.path))


def _check_configuration(listing: str, workspace: Path) -> None:
    """`listing` is `git config --list --show-scope --show-origin -z`:
    scope NUL origin NUL key LF value NUL ..."""
    fields = listing.split("\0")
    risky: dict[str, list[str]] = {}
    for scope, origin, entry in zip(fields[0::3], fields[1::3], fields[2::3], strict=False):
        key = entry.partition("\n")[0].lower()
        if _users_own(scope, origin, workspace):
            continue
        if any(fnmatch.fnmatchcase(key, p) for p in RISKY_KEYS):
            risky.setdefault(scope, []).append(key)
    if risky:
        scope, keys = next(iter(risky.items()))
        where = SCOPE_NAMES.get(scope, f"the {scope} git config")
        named = ", ".join(dict.fromkeys(keys))
        raise Unsafe(f"{where} sets {named}, which can make git run a program or reach outside")


def _users_own(scope: str, origin: str, workspace: Path) -> bool:
    """Our own `-c` overrides, or the user's global config from a file outside the workspace."""
    if scope == "command":
        return True
    path = origin.removeprefix("file:")
    if scope != "global" or path == origin or not os.path.isabs(path):
        return False
    return not Path(os.path.realpath(path)).is_relative_to(workspace)


def _git(executable: str, env: dict[str, str], cwd: Path, *args: str) -> str | None:
    """The output of a git command that runs no configured code, or None if it fails."""
    overrides = [arg for setting in OVERRIDES for arg in ("-c", setting)]
    try:
        done = subprocess.run(
            [executable, "--no-pager", *overrides, *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=INSPECT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return os.fsdecode(done.stdout) if done.returncode == 0 else None
