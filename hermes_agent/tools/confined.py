"""Race-free access to paths inside a directory.

A path that is checked by name and then opened by name can change in between: any component
may be swapped for a symbolic link to somewhere else. These helpers never follow a link. They
open the root directory, then walk down one component at a time, each opened relative to the
directory opened just before with `O_NOFOLLOW`, so whatever they open lies inside the root; a
component that is a link makes them raise `LinkRefused` instead. Every descriptor they open is
closed before they return, or when their context ends.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
import stat
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY
# O_NONBLOCK: a named pipe planted at the name must not hang the reader; files ignore it.
FILE_FLAGS = os.O_RDONLY | os.O_NONBLOCK
NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL
NEW_FILE_MODE = 0o644

Walked = tuple[tuple[str, ...], int, list[str]]


class LinkRefused(OSError):
    """A component of the path is a symbolic link, which these helpers never follow."""


class NotAFile(OSError):
    """The name is a directory, a pipe or a device, where a regular file was needed."""


def open_child(parent: int, name: str, flags: int) -> int:
    """A descriptor for `name` in the directory `parent`, opened with `flags` but never through
    a link. With O_NOFOLLOW, ELOOP always means a link; with O_DIRECTORY, Linux reports a link
    as ENOTDIR, like a file, so then the name is looked at."""
    try:
        return os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
    except OSError as exc:
        if exc.errno == errno.ELOOP or (exc.errno == errno.ENOTDIR and _is_link(parent, name)):
            raise LinkRefused(errno.ELOOP, "a symbolic link is not followed here", name) from None
        raise


def _is_link(parent: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode)
    except OSError:
        return False


@contextlib.contextmanager
def open_dir(root: Path, parts: Sequence[str] = (), *, create: bool = False) -> Iterator[int]:
    """A descriptor for the directory `root`/`parts`, reached without following any link.

    `root` itself must be free of links (resolved). With `create`, missing directories are
    made on the way down, each relative to its parent's descriptor."""
    fd = os.open(root, DIR_FLAGS | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        for name in parts:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, dir_fd=fd)
            fd, parent = open_child(fd, name, DIR_FLAGS), fd
            os.close(parent)
        yield fd
    finally:
        os.close(fd)


@contextlib.contextmanager
def open_file_at(parent: int, name: str) -> Iterator[BinaryIO]:
    """The regular file `name` in the directory `parent`, open for reading."""
    fd = open_child(parent, name, FILE_FLAGS)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotAFile(errno.EINVAL, "not a regular file", name)
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)  # os.fdopen does not close a descriptor it refused
        raise
    with f:
        yield f


@contextlib.contextmanager
def open_file(root: Path, parts: Sequence[str]) -> Iterator[BinaryIO]:
    """The regular file `root`/`parts`, reached without following any link, open for reading."""
    if not parts:
        raise NotAFile(errno.EISDIR, "the root is a directory", str(root))
    with open_dir(root, parts[:-1]) as parent, open_file_at(parent, parts[-1]) as f:
        yield f


def replace_file(parent: int, name: str, data: bytes) -> None:
    """Make `name` in the directory `parent` a regular file holding `data`.

    The bytes go to a new, uniquely named file beside it, are fsynced, and that file is renamed
    over `name`: readers see the old file or the new one, never a torn mix, and a link at
    `name` is replaced rather than written through. An existing file keeps its permission
    bits."""
    mode = _mode_to_keep(parent, name)
    tmp = f".{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, NEW_FILE_FLAGS | os.O_NOFOLLOW | os.O_CLOEXEC, NEW_FILE_MODE, dir_fd=parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if mode is not None:
                os.fchmod(f.fileno(), mode)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, name, src_dir_fd=parent, dst_dir_fd=parent)
    except BaseException:
        _discard(parent, tmp)
        raise


def _mode_to_keep(parent: int, name: str) -> int | None:
    """The permission bits of the regular file now at `name`; None when there is none."""
    try:
        info = os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return None
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), name)
    # Without set-id bits, as the kernel drops them when a file is written in place.
    return stat.S_IMODE(info.st_mode) & 0o777 if stat.S_ISREG(info.st_mode) else None


def _discard(parent: int, tmp: str) -> None:
    try:
        os.unlink(tmp, dir_fd=parent)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("could not remove temp file %s: %s", tmp, exc)


def walk(
    top: int, prune: Callable[[tuple[str, ...]], bool], below: tuple[str, ...] = ()
) -> Iterator[Walked]:
    """For `top` and every directory under it, top-down in name order: its path below `top`,
    a descriptor for it (valid until the next step) and the names of its regular files.

    Links are neither entered nor listed. A directory whose path `prune` accepts is skipped,
    and so, like in `os.walk`, is one that cannot be opened (it vanished, became a link, or is
    unreadable). Close the generator when stopping early, so its descriptors are closed."""
    with os.scandir(top) as scan:
        entries = sorted(
            (e.name, e.is_dir(follow_symlinks=False), e.is_file(follow_symlinks=False))
            for e in scan
        )
    yield below, top, [name for name, _, is_file in entries if is_file]
    for name, is_dir, _ in entries:
        path = (*below, name)
        if is_dir and not prune(path):
            yield from _walk_child(top, name, prune, path)


def _walk_child(
    parent: int, name: str, prune: Callable[[tuple[str, ...]], bool], path: tuple[str, ...]
) -> Iterator[Walked]:
    try:
        fd = open_child(parent, name, DIR_FLAGS)
    except OSError:
        return
    try:
        yield from walk(fd, prune, path)
    finally:
        os.close(fd)
