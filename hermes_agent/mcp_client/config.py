"""The `mcp_servers:` mapping of config.yaml: which MCP servers the agent may use, and how.

Each server is either a program spoken to over stdio (`command`, `args`, `env`, `cwd`) or an
endpoint of the streamable HTTP transport (`url`, `headers`). Values of `env` and `headers` may
name environment variables as `${VAR}`, so a key can stay out of the file; they are expanded
only when the server is started, and shown to the user only as the reference they are (a value
written in the file is masked). `trusted` lets a server's tools run without asking the user; it
is set in config.yaml or with `hermes mcp add --trust`, never over HTTP.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hermes_agent.errors import ConfigError
from hermes_agent.settings import (
    config_path,
    describe_problems,
    read_config_file,
    write_config_file,
)

SECTION = "mcp_servers"
SERVER_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SCHEME = re.compile(r"\s*(Bearer|Token|Basic)?\s*")  # all that may be written beside one
MASK = "••••••"


class ServerConfig(BaseModel):
    """One server: stdio when `command` is set, streamable HTTP when `url` is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    enabled: bool = True
    trusted: bool = Field(False, description="Run its tools without asking the user.")
    timeout: float = Field(60.0, gt=0, le=3600, description="Seconds a tool call may take.")
    startup_timeout: float = Field(30.0, gt=0, le=600, description="Seconds to connect.")
    include: tuple[str, ...] = Field((), description="Offer only these tools (shell patterns).")
    exclude: tuple[str, ...] = Field((), description="Never offer these tools (shell patterns).")

    @field_validator("command", "cwd", "url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value is not None and not value.lower().startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// address")
        return value

    @model_validator(mode="after")
    def _one_transport(self) -> ServerConfig:
        if (self.command is None) == (self.url is None):
            raise ValueError("give either a command (stdio) or a url (streamable HTTP)")
        return self

    @property
    def transport(self) -> str:
        return "stdio" if self.command else "http"

    def offers(self, tool: str) -> bool:
        """Whether the include/exclude lists let `tool` through."""
        if self.include and not any(fnmatch.fnmatchcase(tool, p) for p in self.include):
            return False
        return not any(fnmatch.fnmatchcase(tool, p) for p in self.exclude)

    def secrets(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """The values, once expanded, that must never be shown: every env and header value."""
        values = [*self.env.values(), *self.headers.values()]
        expanded = [expand(v, environ, strict=False) for v in values]
        return [value for value in expanded if len(value.strip()) >= 4]

    def expanded_env(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """`env` with its references expanded. Raises ConfigError naming an unset variable."""
        return {k: expand(v, environ) for k, v in self.env.items()}

    def expanded_headers(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        return {k: expand(v, environ) for k, v in self.headers.items()}

    def public(self) -> dict[str, Any]:
        """The configuration as the user may see it: written values of env and headers are
        masked, `${VAR}` references shown as they are."""
        data = self.model_dump(mode="json")
        data["env"] = {k: masked(v) for k, v in self.env.items()}
        data["headers"] = {k: masked(v) for k, v in self.headers.items()}
        data["transport"] = self.transport
        return data


def expand(value: str, environ: Mapping[str, str] | None = None, *, strict: bool = True) -> str:
    """`value` with each `${VAR}` replaced by the variable. An unset one raises ConfigError
    (a server started without its key fails in ways that do not say so), unless not `strict`."""
    environ = os.environ if environ is None else environ

    def variable(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ and strict:
            raise ConfigError(f"the environment variable {name} is not set")
        return environ.get(name, "")

    return _REFERENCE.sub(variable, value)


def masked(value: str) -> str:
    """A value as shown: `${VAR}` (or `Bearer ${VAR}`) as it is, anything else masked."""
    written = _REFERENCE.sub("", value)
    return value if written != value and _SCHEME.fullmatch(written) else MASK


def unmasked(new: Mapping[str, str], old: Mapping[str, str]) -> dict[str, str]:
    """Edited env or headers: a value sent back still masked keeps what was saved."""
    return {k: old.get(k, "") if v == MASK else v for k, v in new.items()}


def load_servers(env: Mapping[str, str] | None = None) -> dict[str, ServerConfig]:
    """The configured servers by name. Raises ConfigError saying what is wrong."""
    raw = read_config_file(config_path(env)).get(SECTION) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{SECTION} in config.yaml must be a mapping of server names")
    return {name: parse_server(name, value) for name, value in raw.items()}


def parse_server(name: Any, value: Any) -> ServerConfig:
    check_name(name)
    if not isinstance(value, dict):
        raise ConfigError(f"{SECTION}.{name} must be a mapping")
    try:
        return ServerConfig.model_validate(value)
    except ValidationError as exc:
        raise ConfigError(f"{SECTION}.{name}: {describe_problems(exc, 'server')}") from None


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not SERVER_NAME.fullmatch(name):
        raise ConfigError(
            f"{name!r} is not a server name: use 1–32 lower-case letters, digits, - and _"
        )
    return name


def save_server(name: str, server: ServerConfig, env: Mapping[str, str] | None = None) -> None:
    """Add or replace one server in config.yaml, leaving every other setting as it was."""
    check_name(name)
    path = config_path(env)
    values = read_config_file(path)
    section = values.get(SECTION) or {}
    if not isinstance(section, dict):
        raise ConfigError(f"{SECTION} in config.yaml must be a mapping of server names")
    section[name] = server.model_dump(mode="json", exclude_defaults=True)
    values[SECTION] = section
    write_config_file(path, values)


def remove_server(name: str, env: Mapping[str, str] | None = None) -> bool:
    """Remove one server from config.yaml; False when there was none by that name."""
    path = config_path(env)
    values = read_config_file(path)
    section = values.get(SECTION)
    if not isinstance(section, dict) or name not in section:
        return False
    del section[name]
    if not section:
        del values[SECTION]
    write_config_file(path, values)
    return True
