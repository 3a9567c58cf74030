"""Which directories a session may use as its workspace."""

from __future__ import annotations

from pathlib import Path

from api import config
from hermes_agent.errors import BadRequest

_SYSTEM_ROOTS = tuple(
    Path(p)
    for p in (
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/lib",
        "/lib64",
        "/proc",
        "/run",
        "/sbin",
        "/sys",
        "/usr",
        "/var",
    )
)


def resolve_trusted_workspace(raw: str | None) -> Path:
    """An existing directory under the user's home or the default workspace, resolved; the
    default workspace itself need not exist yet (the agent makes it, `ready`).

    Symlinks are resolved before the check, so a link cannot smuggle in a system path.
    """
    if raw is None or not str(raw).strip():
        return config.DEFAULT_WORKSPACE
    if "\x00" in str(raw):
        raise BadRequest("Path contains a NUL byte")
    try:
        path = Path(str(raw).strip()).expanduser().resolve()
        if path == config.DEFAULT_WORKSPACE:
            return path
        exists, is_dir = path.exists(), path.is_dir()
    except (OSError, ValueError, RuntimeError) as exc:
        raise BadRequest(f"Path is not usable: {exc}") from None
    if not exists:
        raise BadRequest(f"Path does not exist: {path}")
    if not is_dir:
        raise BadRequest(f"Path is not a directory: {path}")
    default = config.DEFAULT_WORKSPACE.resolve()
    if path.is_relative_to(default):
        return path
    home = Path.home().resolve()
    if home != Path("/") and path.is_relative_to(home):
        return path
    if any(path.is_relative_to(root) for root in _SYSTEM_ROOTS):
        raise BadRequest(
            "Path points to a system directory, outside the user home directory and the "
            f"default workspace: {path}"
        )
    raise BadRequest(
        f"Path is outside the user home directory and not under the default workspace: {path}"
    )


def ready(workspace: str) -> str:
    """`workspace`, created first if it is the default one: made when an agent first works
    there, not at install or start."""
    if Path(workspace) == config.DEFAULT_WORKSPACE:
        config.DEFAULT_WORKSPACE.mkdir(parents=True, exist_ok=True)
    return workspace
