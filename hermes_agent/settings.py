"""One typed Settings object from `$HERMES_HOME/config.yaml` and the environment.

Read once by each surface at start-up and passed down; nothing writes the environment to pass
settings around. The environment wins over the file, the file over the defaults.

With nothing configured the provider is `local`: the bundled small model, no key, no network.

Providers, tools and chat platforms are plugins (`hermes_agent.plugins`): the settings that
name them are checked against what is installed, not against a fixed list.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from hermes_agent.durable import atomic_write
from hermes_agent.errors import ConfigError
from hermes_agent.plugins import PLATFORMS, STORES, check_names
from hermes_agent.providers import PROVIDERS
from hermes_agent.tools.registry import TOOLS, tool_names

ApprovalMode = Literal["ask", "allowlist", "off"]

# Commands that only look around. Each runs unasked only with the options and paths that
# `hermes_agent.tools.safe_commands` (and `safe_git`) check: nothing outside the workspace, no
# option that writes, sets the clock or runs a program. File contents are read with the
# workspace-confined file tools, so `cat` is not here.
DEFAULT_ALLOWLIST = ("ls", "pwd", "echo", "date", "whoami", "uname", "du", "wc", "git status")
# Where the agent works when no directory was chosen: outside the Hermes home (which the file
# tools refuse to touch, since it holds the settings and keys) and easy to find.
DEFAULT_WORKSPACE = Path("~/HermesWorkspace")
SECRET_FIELDS = frozenset({"api_key", "web_search_key"})
# A DNS name (optionally `*.`-prefixed for subdomains) or an IP literal, with an optional port.
_HOST_NAME = re.compile(
    r"(\*\.)?[A-Za-z0-9._-]{1,253}(:\d{1,5})?"
    r"|\[[0-9A-Fa-f:.]+\](:\d{1,5})?"
    r"|[0-9A-Fa-f.]*:[0-9A-Fa-f:.]+"
)
SHOWN_SECRET_MIN = 12  # shorter keys are masked whole
DEFAULT_VISION_MODELS = (
    "gpt-4o*",
    "gpt-4.1*",
    "gpt-4-turbo*",
    "gpt-5*",
    "o3*",
    "o4*",
    "claude-*",
    "gemini-*",
    "*vision*",
    "*-vl*",
    "llava*",
    "pixtral*",
)


def local_zone_name() -> str:
    """This machine's time zone: `TZ`, else what /etc/localtime links to, else UTC."""
    name = os.environ.get("TZ", "").strip().lstrip(":")
    if not name:
        try:
            target = os.readlink("/etc/localtime")
        except OSError:
            target = ""
        name = target.partition("zoneinfo/")[2]
    return name or "UTC"


class Settings(BaseModel):
    """Everything the agent core needs to know about the user's choices."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str = Field("local", description="The name of an installed provider plugin.")
    store: str = Field(
        "sqlite", description="The name of an installed store plugin: where turns are recorded."
    )
    model: str = ""
    base_url: str | None = None
    api_key: str | None = None
    model_path: str | None = Field(None, description="A GGUF file for the local provider.")
    context_length: int = Field(8192, ge=512, le=10_000_000)
    compression_threshold: float = Field(0.75, gt=0.1, le=0.95)
    max_iterations: int = Field(30, ge=1, le=1000)
    delegate_max_depth: int = Field(
        2,
        ge=0,
        le=5,
        description="How deep delegate_task may nest sub-agents; 0 turns delegation off.",
    )
    delegate_max_iterations: int = Field(
        15,
        ge=1,
        le=1000,
        description="Model calls a sub-agent may make (never more than max_iterations).",
    )
    max_retries: int = Field(2, ge=0, le=10)
    request_timeout: float = Field(120.0, gt=0)
    enabled_tools: tuple[str, ...] = Field(
        default_factory=tool_names, description="Default: every installed tool."
    )
    approval_mode: ApprovalMode = "ask"
    terminal_allowlist: tuple[str, ...] = DEFAULT_ALLOWLIST
    terminal_timeout: float = Field(60.0, gt=0, le=3600)
    llm_titles: bool = Field(True, description="Ask the model for a title after a first turn.")
    allowed_hosts: tuple[str, ...] = Field(
        (), description="Host names the web server and webhook answer to besides loopback."
    )
    trusted_proxies: tuple[str, ...] = Field(
        (), description="Addresses or networks of reverse proxies whose X-Forwarded-* we believe."
    )
    web_allowed_hosts: tuple[str, ...] = Field(
        (),
        description="Hosts on the user's own machine or network that web_fetch may read "
        "(every other private address is refused).",
    )
    web_search_backend: Literal["", "searxng", "brave", "tavily"] = Field(
        "", description="Where web_search asks: searxng, brave or tavily; off when empty."
    )
    web_search_url: str | None = Field(
        None, description="The search service's address (required for SearXNG)."
    )
    web_search_key: str | None = Field(None, description="The API key for Brave or Tavily.")
    memory: bool = Field(
        True, description="Keep and show the agent's memory (MEMORY.md, USER.md) in prompts."
    )
    timezone: str = Field(
        default_factory=local_zone_name,
        description="The user's time zone (IANA name): scheduled jobs' times are read in it.",
    )
    cron: bool = Field(True, description="Run scheduled jobs in hermes web and hermes gateway.")
    cron_missed: Literal["run_once", "skip"] = Field(
        "run_once", description="A slot missed while no process ran jobs: run it once, or skip."
    )
    cron_max_concurrent: int = Field(4, ge=1, le=64, description="Scheduled runs at once.")
    vision_models: tuple[str, ...] = Field(
        DEFAULT_VISION_MODELS,
        description="Models (shell patterns) that see images, when the provider's model list "
        "does not say.",
    )

    @field_validator("base_url", "api_key", "model_path", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            return ZoneInfo(value.strip()).key
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not a time zone; use a name like Europe/Lisbon"
            ) from None

    @field_validator("approval_mode", mode="before")
    @classmethod
    def _yaml_off(cls, value: Any) -> Any:
        """YAML 1.1 reads a bare `off` as false; in this setting it can only mean "off"."""
        return "off" if value is False else value

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        check_names(PROVIDERS, (value,), "provider")
        return value

    @field_validator("store")
    @classmethod
    def _known_store(cls, value: str) -> str:
        check_names(STORES, (value,), "store")
        return value

    @field_validator("enabled_tools")
    @classmethod
    def _known_tools(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return check_names(TOOLS, value, "tools")

    @field_validator("allowed_hosts")
    @classmethod
    def _host_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [name for name in value if not _HOST_NAME.fullmatch(name.strip())]
        if bad:
            raise ValueError(f"not host names: {bad}; write names like hermes.example.com")
        return tuple(name.strip().lower() for name in value)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network") from None
        return tuple(entry.strip() for entry in value)

    @property
    def effective_model(self) -> str:
        return self.model or PROVIDERS[self.provider].default_model

    def public(self) -> dict[str, Any]:
        """The settings as plain data with secrets masked, for `hermes config show`."""
        data = self.model_dump(mode="json")
        for key in SECRET_FIELDS:
            secret = data.get(key)
            if secret:
                data[key] = secret[:4] + "…" if len(secret) > SHOWN_SECRET_MIN else "****"
        data["model"] = self.effective_model
        return data


# environment variable → setting; lists are comma-separated
ENV_KEYS = {
    "HERMES_PROVIDER": "provider",
    "HERMES_STORE": "store",
    "HERMES_MODEL": "model",
    "HERMES_BASE_URL": "base_url",
    "HERMES_API_KEY": "api_key",
    "HERMES_MODEL_PATH": "model_path",
    "HERMES_CONTEXT_LENGTH": "context_length",
    "HERMES_COMPRESSION_THRESHOLD": "compression_threshold",
    "HERMES_MAX_ITERATIONS": "max_iterations",
    "HERMES_DELEGATE_MAX_DEPTH": "delegate_max_depth",
    "HERMES_DELEGATE_MAX_ITERATIONS": "delegate_max_iterations",
    "HERMES_MAX_RETRIES": "max_retries",
    "HERMES_REQUEST_TIMEOUT": "request_timeout",
    "HERMES_ENABLED_TOOLS": "enabled_tools",
    "HERMES_APPROVAL_MODE": "approval_mode",
    "HERMES_TERMINAL_ALLOWLIST": "terminal_allowlist",
    "HERMES_TERMINAL_TIMEOUT": "terminal_timeout",
    "HERMES_LLM_TITLES": "llm_titles",
    "HERMES_ALLOWED_HOSTS": "allowed_hosts",
    "HERMES_TRUSTED_PROXIES": "trusted_proxies",
    "HERMES_VISION_MODELS": "vision_models",
    "HERMES_MEMORY": "memory",
    "HERMES_WEB_ALLOWED_HOSTS": "web_allowed_hosts",
    "HERMES_WEB_SEARCH_BACKEND": "web_search_backend",
    "HERMES_WEB_SEARCH_URL": "web_search_url",
    "HERMES_WEB_SEARCH_KEY": "web_search_key",
    "HERMES_TIMEZONE": "timezone",
    "HERMES_CRON": "cron",
    "HERMES_CRON_MISSED": "cron_missed",
    "HERMES_CRON_MAX_CONCURRENT": "cron_max_concurrent",
}
LIST_FIELDS = frozenset(
    {
        "enabled_tools",
        "terminal_allowlist",
        "allowed_hosts",
        "trusted_proxies",
        "vision_models",
        "web_allowed_hosts",
    }
)


# ── the messaging gateway (`hermes gateway`): the `gateway:` mapping of config.yaml ────────
GATEWAY_SECTION = "gateway"
# Sections of config.yaml that other parts read themselves (hermes_agent.mcp_client.config).
OWN_SECTIONS = frozenset({GATEWAY_SECTION, "mcp_servers"})


def _as_strings(value: Any) -> Any:
    """User ids are written as numbers in YAML; they are compared as text."""
    if isinstance(value, (list, tuple)):
        return tuple(str(item) for item in value)
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TelegramSettings(_Section):
    token: str | None = None
    base_url: str = "https://api.telegram.org/bot"
    allowed_users: tuple[str, ...] = ()
    poll_timeout: int = Field(25, ge=0, le=50, description="Seconds one long poll may wait.")
    group_mode: Literal["mention", "all"] = Field(
        "mention",
        description="In groups, answer only messages addressed to the bot (mention), or all.",
    )

    _users = field_validator("allowed_users", mode="before")(_as_strings)


class WebhookHook(_Section):
    secret: str = Field(min_length=16, description="Shared HMAC-SHA256 secret of this hook.")
    callback_url: str | None = Field(None, pattern=r"^https?://")


class WebhookSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8788, ge=0, le=65535)
    hooks: dict[str, WebhookHook] = Field(default_factory=dict)
    reply_timeout: float = Field(25.0, gt=0, le=600)


class GatewaySettings(BaseModel):
    """The gateway's own settings and one section per installed platform, named after it
    (`telegram`, `webhook`, a plugin's): each checked by that platform's `settings` model
    (`hermes_agent.plugins.PlatformPlugin`) and holding its defaults when left out."""

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, SerializeAsAny[BaseModel]]  # the platform sections

    platforms: tuple[str, ...] = ()
    pairing: bool = True
    workspace: str | None = None
    shutdown_timeout: float = Field(30.0, ge=0, le=3600)

    @field_validator("platforms")
    @classmethod
    def _known_platforms(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return check_names(PLATFORMS, value, "platforms")

    @model_validator(mode="wrap")
    @classmethod
    def _platform_sections(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        """Any key that is not a field above must be an installed platform's section."""
        if not isinstance(data, Mapping):
            return handler(data)
        own = {key: value for key, value in data.items() if key in cls.model_fields}
        sections, errors = _platform_sections(
            {key: value for key, value in data.items() if key not in cls.model_fields}
        )
        try:
            settings = handler({**own, **sections})
        except ValidationError as exc:
            errors = [*exc.errors(), *errors]
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return settings

    def section(self, platform: str) -> BaseModel:
        """The settings section of an installed platform (`gateway.<platform>`)."""
        return self.__pydantic_extra__[platform]

    def sections(self) -> dict[str, BaseModel]:
        """Every installed platform's section, by platform name."""
        return dict(self.__pydantic_extra__)


def _platform_sections(raw: Mapping[str, Any]) -> tuple[dict[str, BaseModel], list[Any]]:
    """Each installed platform's section, validated by its model; errors located under it."""
    sections: dict[str, BaseModel] = {}
    errors: list[Any] = []  # pydantic's error details, to raise as one ValidationError
    for name, value in raw.items():
        plugin = PLATFORMS.get(name)
        if plugin is None:
            errors.append({"type": "extra_forbidden", "loc": (name,), "input": value})
            continue
        try:
            sections[name] = plugin.settings.model_validate({} if value is None else value)
        except ValidationError as exc:
            errors += [{**error, "loc": (name, *error["loc"])} for error in exc.errors()]
    for plugin in PLATFORMS:
        if plugin.name not in raw:
            sections[plugin.name] = plugin.settings()
    return sections, errors


# environment variable → path in the gateway section; `name=value` pairs fill a hook field
GATEWAY_ENV_KEYS = {
    "HERMES_GATEWAY_PLATFORMS": ("platforms",),
    "HERMES_GATEWAY_PAIRING": ("pairing",),
    "HERMES_GATEWAY_WORKSPACE": ("workspace",),
    "HERMES_GATEWAY_SHUTDOWN_TIMEOUT": ("shutdown_timeout",),
    "HERMES_TELEGRAM_TOKEN": ("telegram", "token"),
    "HERMES_TELEGRAM_BASE_URL": ("telegram", "base_url"),
    "HERMES_TELEGRAM_ALLOWED_USERS": ("telegram", "allowed_users"),
    "HERMES_TELEGRAM_POLL_TIMEOUT": ("telegram", "poll_timeout"),
    "HERMES_TELEGRAM_GROUP_MODE": ("telegram", "group_mode"),
    "HERMES_WEBHOOK_HOST": ("webhook", "host"),
    "HERMES_WEBHOOK_PORT": ("webhook", "port"),
    "HERMES_WEBHOOK_REPLY_TIMEOUT": ("webhook", "reply_timeout"),
    "HERMES_WEBHOOK_SECRETS": ("webhook", "hooks", "secret"),
    "HERMES_WEBHOOK_CALLBACK_URLS": ("webhook", "hooks", "callback_url"),
}
GATEWAY_LIST_FIELDS = frozenset({"platforms", "allowed_users"})


def load_gateway_settings(env: Mapping[str, str] | None = None) -> GatewaySettings:
    """The gateway section of config.yaml, then the environment. Raises ConfigError."""
    env = os.environ if env is None else env
    section = read_config_file(config_path(env)).get(GATEWAY_SECTION) or {}
    if not isinstance(section, dict):
        raise ConfigError(f"{GATEWAY_SECTION} in config.yaml must be a mapping")
    values = dict(section)
    fallback_token = env.get("TELEGRAM_BOT_TOKEN")
    if fallback_token and not _child(values, "telegram").get("token"):
        values["telegram"]["token"] = fallback_token
    for name, path in GATEWAY_ENV_KEYS.items():
        raw = env.get(name, "").strip()
        if raw:
            _apply_gateway_env(values, path, raw)
    try:
        return GatewaySettings.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(f"Invalid gateway settings: {describe_problems(exc)}") from None


def _apply_gateway_env(values: dict[str, Any], path: tuple[str, ...], raw: str) -> None:
    *parents, leaf = path
    target = values
    for key in parents:
        target = _child(target, key)
    if parents[-1:] == ["hooks"]:
        for pair in raw.split(","):
            name, _, value = pair.partition("=")
            if name.strip() and value.strip():
                _child(target, name.strip())[leaf] = value.strip()
        return
    target[leaf] = (
        [part.strip() for part in raw.split(",") if part.strip()]
        if leaf in GATEWAY_LIST_FIELDS
        else raw
    )


def _child(parent: dict[str, Any], key: str) -> dict[str, Any]:
    """`parent[key]` as a new mapping the environment may fill; the file's value is copied,
    never changed, and a value that is no mapping (an empty YAML section) starts empty."""
    child = parent.get(key)
    parent[key] = child = dict(child) if isinstance(child, dict) else {}
    return child


def hermes_home(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("HERMES_HOME") or "~/.hermes").expanduser()


def config_path(env: Mapping[str, str] | None = None) -> Path:
    return hermes_home(env) / "config.yaml"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Defaults, then config.yaml, then the environment. Raises ConfigError with the reason."""
    env = os.environ if env is None else env
    values = {**read_config_file(config_path(env)), **_from_env(env)}
    if "provider" not in values:
        values["provider"] = _inferred_provider(values, env)
    if not values.get("api_key"):
        key = _provider_key(values["provider"], env)
        if key:
            values["api_key"] = key
    return _validate(values)


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of settings")
    return data


def set_config_value(key: str, raw: str, env: Mapping[str, str] | None = None) -> Settings:
    """Validate `key = raw` against the whole file, then replace config.yaml (mode 0600)."""
    if key.startswith(GATEWAY_SECTION + "."):
        return _set_gateway_value(key, raw, env)
    if key not in Settings.model_fields:
        known = ", ".join(sorted(Settings.model_fields))
        raise ConfigError(f"Unknown setting {key!r}; known settings: {known}, gateway.*")
    path = config_path(env)
    values = read_config_file(path)
    values[key] = _parse_value(key, raw)
    values[key] = _validate(values).model_dump(mode="json")[key]  # stored typed, not quoted
    write_config_file(path, values)
    return load_settings(env)


def _set_gateway_value(key: str, raw: str, env: Mapping[str, str] | None) -> Settings:
    """`gateway.telegram.token` and the like: validated against the whole gateway section."""
    path = config_path(env)
    values = read_config_file(path)
    section = values.setdefault(GATEWAY_SECTION, {})
    if not isinstance(section, dict):
        raise ConfigError(f"{GATEWAY_SECTION} in {path} must be a mapping")
    *parents, leaf = key.split(".")[1:]
    target = section
    for name in parents:
        target = target.setdefault(name, {})
        if not isinstance(target, dict):
            raise ConfigError(f"Unknown setting {key!r}")
    target[leaf] = (
        [part.strip() for part in raw.split(",") if part.strip()]
        if leaf in GATEWAY_LIST_FIELDS
        else raw.strip()
    )
    try:
        checked = GatewaySettings.model_validate(section)
    except ValidationError as exc:
        raise ConfigError(f"Invalid gateway settings: {describe_problems(exc)}") from None
    saved = checked.model_dump(mode="json", exclude_defaults=True)
    # untouched platform sections dump as {}: leave them out, as a person would
    values[GATEWAY_SECTION] = {name: value for name, value in saved.items() if value != {}}
    write_config_file(path, values)
    return load_settings(env)


def write_config_file(path: Path, values: Mapping[str, Any]) -> None:
    """Replace config.yaml with `values` (atomically, mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(dict(values), sort_keys=True, allow_unicode=True)
    atomic_write(path, text.encode("utf-8"))


def environment_overrides(env: Mapping[str, str] | None = None) -> frozenset[str]:
    """The settings fixed by `HERMES_*` variables: a value saved to config.yaml would not show."""
    env = os.environ if env is None else env
    return frozenset(field for name, field in ENV_KEYS.items() if env.get(name, "").strip())


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    return {
        field: _parse_value(field, env[name])
        for name, field in ENV_KEYS.items()
        if env.get(name, "").strip()
    }


def _parse_value(field: str, raw: str) -> Any:
    if field in LIST_FIELDS:
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw.strip()


def _inferred_provider(values: Mapping[str, Any], env: Mapping[str, str]) -> str:
    if values.get("base_url") or env.get("OPENAI_API_KEY"):
        return "openai"
    if env.get("ANTHROPIC_API_KEY"):
        return "anthropic"
    return "local"


def _provider_key(provider: str, env: Mapping[str, str]) -> str | None:
    plugin = PROVIDERS.get(provider)
    return env.get(plugin.key_env) if plugin and plugin.key_env else None


def _validate(values: Mapping[str, Any]) -> Settings:
    agent_values = {k: v for k, v in values.items() if k not in OWN_SECTIONS}
    try:
        return Settings.model_validate(agent_values)
    except ValidationError as exc:
        raise ConfigError(f"Invalid settings: {describe_problems(exc)}") from None


def describe_problems(exc: ValidationError, whole: str = "config") -> str:
    """Each problem as `field.path: message`; `whole` names what a problem without a path is in."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or whole}: {err['msg']}" for err in exc.errors()
    )
