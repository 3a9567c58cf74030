"""The commands an allowlist entry runs without asking, and the arguments each may take.

An allowlisted command runs with no shell, so it can only do what its own options let it do.
`SAFE_COMMANDS` lists, for the GNU tools people put on the allowlist, every option known not
to run other programs, write files, set the clock or reach outside the workspace; any other
option means asking the user. Files the command touches — operands, the values of options that
name files, the directories it descends into — must resolve inside the workspace and outside
the protected directories (see `command_scope`). Refused on purpose, among others:

- `ls -L/-H`, `du -L/-D/-H`, `grep -R`, `stat -L`, `file -L`: follow symbolic links found
  inside the workspace to wherever they point;
- `date -f FILE` prints every line of a file it cannot parse, `date -s` and date operands
  without a leading `+` set the clock, a `TZ="..."` in a `-d` string names a file to read;
- `du`/`wc`/`sort --files0-from`, `du -X`, `file -f`: read file names from a file, unchecked;
- `sort -o` writes a file, `-T` writes temporaries anywhere, `--compress-program` runs a
  program, `--random-source` reads a file;
- `tail -f/-F/--pid`: never end; `file -m/-C/-z/-s/-p`: read or compile magic files, run
  decompressors, read devices, change access times.

An allowlist entry whose program is not in the table (`npm test`, `make`) is the user's own
choice of program: it runs without a shell, and every argument that could name a file — each
word, the value after each `=`, `,` or `:`, and every tail of a short-option cluster such as
`-o/tmp/x` — must resolve inside the workspace. What that program does with the files of the
workspace (a Makefile, package.json scripts) is what the user allowed. Git is `safe_git`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from hermes_agent.tools.command_options import OptionTable, Parsed, names, parse
from hermes_agent.tools.command_scope import Invocation, Scope, Unsafe

# Given the parsed arguments, the operands that name files; raises Unsafe for a bad operand.
OperandRule = Callable[[Parsed], tuple[str, ...]]


def no_operands(parsed: Parsed) -> tuple[str, ...]:
    if parsed.operands:
        raise Unsafe("takes no operands")
    return ()


def file_operands(parsed: Parsed) -> tuple[str, ...]:
    return parsed.operands


def text_operands(parsed: Parsed) -> tuple[str, ...]:
    return ()


def date_operands(parsed: Parsed) -> tuple[str, ...]:
    for operand in parsed.operands:
        if not operand.startswith("+"):
            raise Unsafe(f"{operand} would set the clock (only +FORMAT operands are safe)")
    for value in parsed.values_of("-d", "--date"):
        if "TZ=" in value.upper():
            raise Unsafe("a TZ= in a date string names a file to read")
    return ()


def grep_operands(parsed: Parsed) -> tuple[str, ...]:
    """The first operand is the pattern unless patterns came from -e or -f."""
    if parsed.given & names("-e --regexp -f --file"):
        return parsed.operands
    return parsed.operands[1:]


@dataclass(frozen=True)
class SafeCommand:
    options: OptionTable = field(default_factory=OptionTable)
    operands: OperandRule = no_operands
    descending: frozenset[str] = frozenset()  # options that make it walk into directories
    always_descends: bool = False
    reads_options: bool = True  # echo takes every word as text

    def check(self, args: list[str], scope: Scope) -> None:
        if not self.reads_options:
            return
        parsed = parse(self.options, args)
        for path in parsed.values_of(*self.options.paths):
            scope.check(path)
        walks = self.always_descends or bool(self.descending & parsed.given)
        check = scope.check_tree if walks else scope.check
        for path in self.operands(parsed) or ((".",) if walks else ()):
            check(path)


HEAD_TAIL = OptionTable(
    flags=names("-q --quiet --silent -v --verbose -z --zero-terminated"),
    values=names("-c --bytes -n --lines"),
    numeric=True,
)

SAFE_COMMANDS: dict[str, SafeCommand] = {
    "pwd": SafeCommand(OptionTable(flags=names("-L -P"))),
    "whoami": SafeCommand(),
    "echo": SafeCommand(operands=text_operands, reads_options=False),
    "uname": SafeCommand(
        OptionTable(
            flags=names(
                "-a --all -s --kernel-name -n --nodename -r --kernel-release -v --kernel-version"
                " -m --machine -p --processor -i --hardware-platform -o --operating-system"
            )
        )
    ),
    "date": SafeCommand(
        OptionTable(
            flags=names("-u --utc --universal -R --rfc-email --debug --resolution"),
            values=names("-d --date --rfc-3339"),
            optional=names("-I --iso-8601"),
            paths=names("-r --reference"),
        ),
        date_operands,
    ),
    "ls": SafeCommand(
        OptionTable(
            flags=names(
                "-a --all -A --almost-all --author -b --escape -B --ignore-backups -c -C"
                " -d --directory -D --dired -f -F --file-type --full-time -g"
                " --group-directories-first -G --no-group -h --human-readable --si -i --inode"
                " -k --kibibytes -l -m -n --numeric-uid-gid -N --literal -o -p -q"
                " --hide-control-chars --show-control-chars -Q --quote-name -r --reverse"
                " -R --recursive -s --size -S -t -u -U -v -x -X -Z --context --zero -1"
            ),
            values=names(
                "--block-size --format --hide -I --ignore --indicator-style --quoting-style"
                " --sort --time --time-style -T --tabsize -w --width"
            ),
            optional=names("--color --classify --hyperlink"),
        ),
        file_operands,
        descending=names("-R --recursive"),
    ),
    "du": SafeCommand(
        OptionTable(
            flags=names(
                "-0 --null -a --all --apparent-size -b --bytes -c --total -h --human-readable"
                " --inodes -k -l --count-links -m -P --no-dereference -S --separate-dirs --si"
                " -s --summarize -x --one-file-system"
            ),
            values=names("-B --block-size -d --max-depth -t --threshold --time-style --exclude"),
            optional=names("--time"),
        ),
        file_operands,
        always_descends=True,
    ),
    "wc": SafeCommand(
        OptionTable(
            flags=names("-c --bytes -m --chars -l --lines -L --max-line-length -w --words")
        ),
        file_operands,
    ),
    "cat": SafeCommand(
        OptionTable(
            flags=names(
                "-A --show-all -b --number-nonblank -e -E --show-ends -n --number"
                " -s --squeeze-blank -t -T --show-tabs -u -v --show-nonprinting"
            )
        ),
        file_operands,
    ),
    "head": SafeCommand(HEAD_TAIL, file_operands),
    "tail": SafeCommand(HEAD_TAIL, file_operands),
    "sort": SafeCommand(
        OptionTable(
            flags=names(
                "-b --ignore-leading-blanks -d --dictionary-order -f --ignore-case"
                " -g --general-numeric-sort -i --ignore-nonprinting -M --month-sort"
                " -h --human-numeric-sort -n --numeric-sort -R --random-sort -r --reverse"
                " -V --version-sort -c -C -m --merge -s --stable -u --unique"
                " -z --zero-terminated --debug"
            ),
            values=names(
                "--sort -k --key -S --buffer-size -t --field-separator --parallel --batch-size"
            ),
            optional=names("--check"),
        ),
        file_operands,
    ),
    "grep": SafeCommand(
        OptionTable(
            flags=names(
                "-E --extended-regexp -F --fixed-strings -G --basic-regexp -P --perl-regexp"
                " -i -y --ignore-case --no-ignore-case -w --word-regexp -x --line-regexp"
                " -z --null-data -s --no-messages -v --invert-match -b --byte-offset"
                " -n --line-number --line-buffered -H --with-filename -h --no-filename"
                " -o --only-matching -q --quiet --silent -a --text -I -r --recursive"
                " -L --files-without-match -l --files-with-matches -c --count"
                " -T --initial-tab -Z --null --no-group-separator -U --binary"
            ),
            values=names(
                "-e --regexp -m --max-count --label --binary-files --include --exclude"
                " --exclude-dir -A --after-context -B --before-context -C --context"
                " --group-separator"
            ),
            optional=names("--color --colour"),
            paths=names("-f --file --exclude-from"),
            numeric=True,
        ),
        grep_operands,
        descending=names("-r --recursive"),
    ),
    "stat": SafeCommand(
        OptionTable(
            flags=names("-f --file-system -t --terse"),
            values=names("-c --format --printf --cached"),
        ),
        file_operands,
    ),
    "file": SafeCommand(
        OptionTable(
            flags=names(
                "-b --brief -i --mime --mime-type --mime-encoding --apple --extension"
                " -k --keep-going -h --no-dereference -n --no-buffer -N --no-pad -0 --print0"
                " -r --raw"
            ),
            values=names("-e --exclude --exclude-quiet -F --separator"),
        ),
        file_operands,
    ),
    "basename": SafeCommand(
        OptionTable(flags=names("-a --multiple -z --zero"), values=names("-s --suffix")),
        text_operands,
    ),
    "dirname": SafeCommand(OptionTable(flags=names("-z --zero")), text_operands),
    "realpath": SafeCommand(
        OptionTable(
            flags=names(
                "-e --canonicalize-existing -m --canonicalize-missing -L --logical"
                " -P --physical -q --quiet -s --strip --no-symlinks -z --zero"
            ),
            paths=names("--relative-to --relative-base"),
        ),
        file_operands,
    ),
}


def check_generic(args: list[str], scope: Scope) -> None:
    """The check for a program the user allowlisted that the table does not know."""
    for arg in args:
        for candidate in _path_candidates(arg):
            scope.check(candidate)


def _path_candidates(arg: str) -> Iterator[str]:
    """Every part of `arg` that the program might take as a file name."""
    yield arg
    if arg.startswith("-") and not arg.startswith("--"):
        for i in range(2, len(arg)):
            yield arg[i:]
    for i, ch in enumerate(arg):
        if ch in "=,:":
            yield arg[i + 1 :]


def plan(argv: list[str], scope: Scope, env: Mapping[str, str]) -> Invocation:
    """How `argv` runs without a shell, if it may run without asking."""
    name, args = argv[0], argv[1:]
    command = SAFE_COMMANDS.get(name)
    try:
        if command is None:
            check_generic(args, scope)
        else:
            command.check(args, scope)
    except Unsafe as exc:
        raise Unsafe(f"{name}: {exc}") from None
    return Invocation(scope.executable(name, env), tuple(argv), env, scope.cwd)
