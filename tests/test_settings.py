"""Settings: defaults < $HERMES_HOME/config.yaml < environment, and `hermes config`.

Every call passes its environment explicitly, so the process environment never leaks in.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hermes_agent.errors import ConfigError
from hermes_agent.settings import (
    DEFAULT_ALLOWLIST,
    ENV_KEYS,
    Settings,
    load_settings,
    set_config_value,
)
from tests.support import BUILTIN_TOOLS, REPO_ROOT


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "hermes-home"
    path.mkdir()
    return path


def env_for(home: Path, **extra: str) -> dict[str, str]:
    return {"HERMES_HOME": str(home), **extra}


def write_config(home: Path, text: str) -> Path:
    path = home / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_use_the_local_provider_and_its_model(home):
    settings = load_settings(env_for(home))
    assert settings.provider == "local"
    assert settings.model == ""
    assert settings.effective_model == "smollm2-135m"
    assert settings.api_key is None
    assert settings.base_url is None
    assert settings.approval_mode == "ask"
    # every installed tool is enabled by default; in the test environment, the built-ins
    assert settings.enabled_tools == BUILTIN_TOOLS
    assert settings.terminal_allowlist == DEFAULT_ALLOWLIST
    assert settings.context_length == 8192


def test_missing_home_directory_gives_the_defaults(tmp_path):
    settings = load_settings({"HERMES_HOME": str(tmp_path / "does-not-exist")})
    assert settings == Settings()


def test_empty_config_file_gives_the_defaults(home):
    write_config(home, "")
    assert load_settings(env_for(home)) == Settings()


@pytest.mark.parametrize(
    ("provider", "model"),
    [("openai", "gpt-4o-mini"), ("anthropic", "claude-sonnet-4-5"), ("local", "smollm2-135m")],
)
def test_effective_model_defaults_per_provider_and_an_explicit_model_wins(home, provider, model):
    assert load_settings(env_for(home, HERMES_PROVIDER=provider)).effective_model == model
    explicit = load_settings(env_for(home, HERMES_PROVIDER=provider, HERMES_MODEL="mine"))
    assert explicit.effective_model == "mine"


def test_config_file_values_are_loaded(home):
    write_config(
        home,
        "provider: openai\n"
        "model: gpt-4o\n"
        "base_url: http://127.0.0.1:9/v1\n"
        "context_length: 16384\n"
        "compression_threshold: 0.6\n"
        "approval_mode: allowlist\n"
        "terminal_allowlist: [ls, git status]\n"
        "enabled_tools:\n  - read_file\n  - todo\n"
        "terminal_timeout: 5\n",
    )
    settings = load_settings(env_for(home))
    assert settings.provider == "openai"
    assert settings.effective_model == "gpt-4o"
    assert settings.base_url == "http://127.0.0.1:9/v1"
    assert settings.context_length == 16384
    assert settings.compression_threshold == 0.6
    assert settings.approval_mode == "allowlist"
    assert settings.terminal_allowlist == ("ls", "git status")
    assert settings.enabled_tools == ("read_file", "todo")
    assert settings.terminal_timeout == 5.0


def test_environment_overrides_the_config_file(home):
    write_config(home, "model: from-file\ncontext_length: 16384\nmax_retries: 4\n")
    settings = load_settings(env_for(home, HERMES_MODEL="from-env", HERMES_CONTEXT_LENGTH="4096"))
    assert settings.model == "from-env"
    assert settings.context_length == 4096
    assert settings.max_retries == 4


def test_blank_environment_values_do_not_override_the_file(home):
    write_config(home, "model: from-file\n")
    settings = load_settings(env_for(home, HERMES_MODEL="  ", HERMES_CONTEXT_LENGTH=""))
    assert settings.model == "from-file"
    assert settings.context_length == 8192


def test_every_hermes_environment_variable_is_parsed(home):
    env = {
        "HERMES_PROVIDER": "openai",
        "HERMES_STORE": "sqlite",
        "HERMES_MODEL": "gpt-test",
        "HERMES_BASE_URL": "http://127.0.0.1:9/v1",
        "HERMES_API_KEY": "sk-hermes-key",
        "HERMES_MODEL_PATH": "/models/tiny.gguf",
        "HERMES_CONTEXT_LENGTH": "4096",
        "HERMES_COMPRESSION_THRESHOLD": "0.5",
        "HERMES_MAX_ITERATIONS": "7",
        "HERMES_DELEGATE_MAX_DEPTH": "1",
        "HERMES_DELEGATE_MAX_ITERATIONS": "4",
        "HERMES_MAX_RETRIES": "3",
        "HERMES_REQUEST_TIMEOUT": "12.5",
        "HERMES_ENABLED_TOOLS": "read_file, terminal ,todo",
        "HERMES_APPROVAL_MODE": "allowlist",
        "HERMES_TERMINAL_ALLOWLIST": "ls,git status, ,pwd",
        "HERMES_TERMINAL_TIMEOUT": "9",
        "HERMES_LLM_TITLES": "false",
        "HERMES_ALLOWED_HOSTS": "Hermes.Lan, *.tail.test ,[::1]:8787",
        "HERMES_TRUSTED_PROXIES": "10.0.0.0/8, ::1",
        "HERMES_VISION_MODELS": "gpt-4o*, my-vlm",
        "HERMES_MEMORY": "false",
        "HERMES_WEB_ALLOWED_HOSTS": "nas.lan, 192.168.1.20",
        "HERMES_WEB_SEARCH_BACKEND": "searxng",
        "HERMES_WEB_SEARCH_URL": "http://search.lan:8888",
        "HERMES_WEB_SEARCH_KEY": "brave-key-123",
        "HERMES_TIMEZONE": "America/New_York",
        "HERMES_CRON": "false",
        "HERMES_CRON_MISSED": "skip",
        "HERMES_CRON_MAX_CONCURRENT": "2",
    }
    assert set(env) == set(ENV_KEYS), "a new environment variable needs a case here"
    settings = load_settings(env_for(home, **env))
    assert settings.model_dump() == {
        "provider": "openai",
        "store": "sqlite",
        "model": "gpt-test",
        "base_url": "http://127.0.0.1:9/v1",
        "api_key": "sk-hermes-key",
        "model_path": "/models/tiny.gguf",
        "context_length": 4096,
        "compression_threshold": 0.5,
        "max_iterations": 7,
        "delegate_max_depth": 1,
        "delegate_max_iterations": 4,
        "max_retries": 3,
        "request_timeout": 12.5,
        "enabled_tools": ("read_file", "terminal", "todo"),
        "approval_mode": "allowlist",
        "terminal_allowlist": ("ls", "git status", "pwd"),
        "terminal_timeout": 9.0,
        "llm_titles": False,
        "allowed_hosts": ("hermes.lan", "*.tail.test", "[::1]:8787"),
        "trusted_proxies": ("10.0.0.0/8", "::1"),
        "web_allowed_hosts": ("nas.lan", "192.168.1.20"),
        "web_search_backend": "searxng",
        "web_search_url": "http://search.lan:8888",
        "web_search_key": "brave-key-123",
        "memory": False,
        "vision_models": ("gpt-4o*", "my-vlm"),
        "timezone": "America/New_York",
        "cron": False,
        "cron_missed": "skip",
        "cron_max_concurrent": 2,
    }


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("HERMES_ALLOWED_HOSTS", "evil.example/path", "allowed_hosts"),
        ("HERMES_ALLOWED_HOSTS", "http://hermes.lan", "allowed_hosts"),
        ("HERMES_TRUSTED_PROXIES", "proxy.lan", "trusted_proxies"),
        ("HERMES_TRUSTED_PROXIES", "*", "trusted_proxies"),
    ],
)
def test_host_and_proxy_lists_refuse_what_they_cannot_match(home, name, value, named):
    with pytest.raises(ConfigError, match=named):
        load_settings(env_for(home, **{name: value}))


def test_env_keys_cover_every_setting():
    assert set(ENV_KEYS.values()) == set(Settings.model_fields)


@pytest.mark.parametrize(
    ("extra", "provider"),
    [
        ({}, "local"),
        ({"HERMES_BASE_URL": "http://127.0.0.1:11434/v1"}, "openai"),
        ({"OPENAI_API_KEY": "sk-openai"}, "openai"),
        ({"ANTHROPIC_API_KEY": "sk-ant"}, "anthropic"),
        ({"OPENAI_API_KEY": "sk-openai", "ANTHROPIC_API_KEY": "sk-ant"}, "openai"),
        ({"ANTHROPIC_API_KEY": "sk-ant", "HERMES_PROVIDER": "local"}, "local"),
    ],
    ids=["nothing", "base-url", "openai-key", "anthropic-key", "both-keys", "explicit"],
)
def test_provider_is_inferred_when_unset(home, extra, provider):
    assert load_settings(env_for(home, **extra)).provider == provider


def test_base_url_in_the_config_file_infers_openai(home):
    write_config(home, "base_url: http://127.0.0.1:8080/v1\n")
    assert load_settings(env_for(home)).provider == "openai"


def test_provider_in_the_config_file_is_not_overridden_by_inference(home):
    write_config(home, "provider: anthropic\n")
    settings = load_settings(env_for(home, OPENAI_API_KEY="sk-openai", ANTHROPIC_API_KEY="sk-a"))
    assert settings.provider == "anthropic"
    assert settings.api_key == "sk-a"


def test_api_key_comes_from_the_providers_own_variable(home):
    both = {"OPENAI_API_KEY": "sk-openai", "ANTHROPIC_API_KEY": "sk-ant"}
    assert load_settings(env_for(home, **both)).api_key == "sk-openai"
    anthropic = load_settings(env_for(home, HERMES_PROVIDER="anthropic", **both))
    assert anthropic.api_key == "sk-ant"
    openai = load_settings(env_for(home, HERMES_PROVIDER="openai", ANTHROPIC_API_KEY="sk-ant"))
    assert openai.api_key is None
    assert load_settings(env_for(home, HERMES_PROVIDER="local", **both)).api_key is None


def test_an_explicit_api_key_wins_over_the_provider_variable(home):
    write_config(home, "api_key: sk-from-file\n")
    env = env_for(home, OPENAI_API_KEY="sk-openai")
    assert load_settings(env).api_key == "sk-from-file"
    assert load_settings({**env, "HERMES_API_KEY": "sk-hermes"}).api_key == "sk-hermes"


def test_invalid_yaml_is_a_config_error_naming_the_file(home):
    path = write_config(home, "model: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML") as caught:
        load_settings(env_for(home))
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("text", ["- ls\n- pwd\n", "just a string\n", "42\n"])
def test_a_config_file_that_is_not_a_mapping_is_a_config_error(home, text):
    write_config(home, text)
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_settings(env_for(home))


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("context_length: lots\n", "context_length"),
        ("context_length: 10\n", "context_length"),
        ("compression_threshold: 2\n", "compression_threshold"),
        ("provider: gemini\n", "provider"),
        ("approval_mode: never\n", "approval_mode"),
        ("terminal_timeout: 0\n", "terminal_timeout"),
        ("enabled_tools: read_file\n", "enabled_tools"),
    ],
)
def test_bad_values_in_the_file_are_config_errors_naming_the_setting(home, text, named):
    write_config(home, text)
    with pytest.raises(ConfigError, match=named):
        load_settings(env_for(home))


def test_unknown_keys_in_the_file_are_config_errors_naming_the_key(home):
    write_config(home, "model: x\ncolour: blue\n")
    with pytest.raises(ConfigError, match="colour"):
        load_settings(env_for(home))


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("HERMES_CONTEXT_LENGTH", "big", "context_length"),
        ("HERMES_MAX_ITERATIONS", "0", "max_iterations"),
        ("HERMES_DELEGATE_MAX_DEPTH", "-1", "delegate_max_depth"),
        ("HERMES_DELEGATE_MAX_ITERATIONS", "0", "delegate_max_iterations"),
        ("HERMES_TIMEZONE", "Mars/Olympus_Mons", "timezone"),
        ("HERMES_CRON_MISSED", "twice", "cron_missed"),
        ("HERMES_CRON_MAX_CONCURRENT", "0", "cron_max_concurrent"),
        ("HERMES_PROVIDER", "gemini", "provider"),
        ("HERMES_APPROVAL_MODE", "sometimes", "approval_mode"),
    ],
)
def test_bad_values_in_the_environment_are_config_errors_naming_the_setting(
    home, name, value, named
):
    with pytest.raises(ConfigError, match=named):
        load_settings(env_for(home, **{name: value}))


def test_an_unknown_tool_in_enabled_tools_is_a_config_error(home):
    with pytest.raises(ConfigError, match="raed_file"):
        load_settings(env_for(home, HERMES_ENABLED_TOOLS="read_file,raed_file"))


def test_approval_mode_off_written_plainly_in_yaml_means_off(home):
    write_config(home, "approval_mode: off\n")
    assert load_settings(env_for(home)).approval_mode == "off"


def test_settings_are_immutable(home):
    settings = load_settings(env_for(home))
    with pytest.raises(ValueError, match="frozen"):
        settings.approval_mode = "off"


# --- set_config_value ------------------------------------------------------------------------


def test_set_config_value_writes_the_file_and_returns_the_new_settings(home):
    settings = set_config_value("model", "gpt-4o", env_for(home))
    assert settings.model == "gpt-4o"
    assert yaml.safe_load((home / "config.yaml").read_text()) == {"model": "gpt-4o"}


def test_set_config_value_creates_the_home_directory(tmp_path):
    home = tmp_path / "new" / "home"
    set_config_value("max_retries", "5", {"HERMES_HOME": str(home)})
    assert load_settings({"HERMES_HOME": str(home)}).max_retries == 5


def test_set_config_value_writes_mode_0600(home):
    set_config_value("api_key", "sk-secret-value", env_for(home))
    assert stat.S_IMODE((home / "config.yaml").stat().st_mode) == 0o600


def test_set_config_value_makes_an_existing_readable_file_private(home):
    path = write_config(home, "model: x\n")
    path.chmod(0o644)
    set_config_value("api_key", "sk-secret-value", env_for(home))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_set_config_value_keeps_other_settings(home):
    write_config(home, "model: kept\nterminal_allowlist: [ls]\n")
    set_config_value("context_length", "16384", env_for(home))
    settings = load_settings(env_for(home))
    assert settings.model == "kept"
    assert settings.terminal_allowlist == ("ls",)
    assert settings.context_length == 16384


def test_set_config_value_round_trips_every_kind_of_value(home):
    env = env_for(home)
    set_config_value("provider", "anthropic", env)
    set_config_value("context_length", "32768", env)
    set_config_value("compression_threshold", "0.8", env)
    set_config_value("terminal_allowlist", "ls, git status ,pwd", env)
    set_config_value("approval_mode", "off", env)
    set_config_value("base_url", "http://127.0.0.1:1234/v1", env)
    settings = load_settings(env)
    assert settings.provider == "anthropic"
    assert settings.context_length == 32768
    assert settings.compression_threshold == 0.8
    assert settings.terminal_allowlist == ("ls", "git status", "pwd")
    assert settings.approval_mode == "off"
    assert settings.base_url == "http://127.0.0.1:1234/v1"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("context_length", "huge"),
        ("approval_mode", "never"),
        ("provider", "gemini"),
        ("compression_threshold", "5"),
    ],
)
def test_set_config_value_validates_before_writing(home, key, value):
    path = write_config(home, "model: untouched\n")
    before = path.read_bytes()
    with pytest.raises(ConfigError, match=key):
        set_config_value(key, value, env_for(home))
    assert path.read_bytes() == before


def test_set_config_value_with_a_bad_value_creates_no_file(home):
    with pytest.raises(ConfigError):
        set_config_value("context_length", "huge", env_for(home))
    assert not (home / "config.yaml").exists()


def test_set_config_value_refuses_an_unknown_key_and_lists_the_known_ones(home):
    path = write_config(home, "model: untouched\n")
    with pytest.raises(ConfigError, match="unknown_key") as caught:
        set_config_value("unknown_key", "x", env_for(home))
    for name in Settings.model_fields:
        assert name in str(caught.value)
    assert path.read_text() == "model: untouched\n"


def test_set_config_value_refuses_to_add_to_a_broken_file(home):
    path = write_config(home, "model: [broken\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        set_config_value("model", "x", env_for(home))
    assert path.read_text() == "model: [broken\n"


# --- `hermes config` -------------------------------------------------------------------------


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HERMES_", "OPENAI_", "ANTHROPIC_"))
    }
    return {**env, "HERMES_HOME": str(home), **extra}


def hermes(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hermes_cli", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_config_show_prints_the_effective_settings_with_the_key_masked(home):
    write_config(home, "model: gpt-4o\napi_key: sk-file-secret-123456\n")
    result = hermes("config", "show", env=clean_env(home, HERMES_CONTEXT_LENGTH="4096"))
    assert result.returncode == 0, result.stderr
    assert "sk-file-secret-123456" not in result.stdout
    assert str(home / "config.yaml") in result.stdout
    shown = yaml.safe_load(result.stdout)
    assert shown["model"] == "gpt-4o"
    assert shown["context_length"] == 4096
    assert shown["provider"] == "local"
    assert shown["api_key"] == "sk-f…"


def test_config_show_masks_a_key_taken_from_the_environment(home):
    env = clean_env(home, OPENAI_API_KEY="sk-env-secret-abcdef")
    result = hermes("config", "show", env=env)
    assert result.returncode == 0, result.stderr
    assert "sk-env-secret-abcdef" not in result.stdout + result.stderr
    shown = yaml.safe_load(result.stdout)
    assert shown["provider"] == "openai"
    assert shown["model"] == "gpt-4o-mini"
    assert shown["api_key"] == "sk-e…"


def test_config_set_persists_and_show_reflects_it(home):
    env = clean_env(home)
    result = hermes("config", "set", "model", "gpt-4o", env=env)
    assert result.returncode == 0, result.stderr
    assert "model = 'gpt-4o'" in result.stdout
    assert load_settings({"HERMES_HOME": str(home)}).model == "gpt-4o"
    result = hermes("config", "set", "terminal_allowlist", "ls,pwd", env=env)
    assert result.returncode == 0, result.stderr
    shown = yaml.safe_load(hermes("config", "show", env=env).stdout)
    assert shown["model"] == "gpt-4o"
    assert shown["terminal_allowlist"] == ["ls", "pwd"]


def test_config_set_api_key_echoes_it_masked(home):
    result = hermes("config", "set", "api_key", "sk-typed-secret-999", env=clean_env(home))
    assert result.returncode == 0, result.stderr
    assert "sk-typed-secret-999" not in result.stdout + result.stderr
    assert load_settings({"HERMES_HOME": str(home)}).api_key == "sk-typed-secret-999"
    assert stat.S_IMODE((home / "config.yaml").stat().st_mode) == 0o600


def test_config_set_unknown_key_fails_with_the_known_settings(home):
    result = hermes("config", "set", "unknown_key", "x", env=clean_env(home))
    assert result.returncode != 0
    assert "unknown_key" in result.stderr
    assert "known settings" in result.stderr
    for name in Settings.model_fields:
        assert name in result.stderr
    assert "Traceback" not in result.stderr
    assert not (home / "config.yaml").exists()


def test_config_set_bad_value_fails_and_leaves_the_file(home):
    path = write_config(home, "model: untouched\n")
    result = hermes("config", "set", "context_length", "huge", env=clean_env(home))
    assert result.returncode != 0
    assert "context_length" in result.stderr
    assert "Traceback" not in result.stderr
    assert path.read_text() == "model: untouched\n"


def test_config_show_reports_a_broken_file_without_a_traceback(home):
    write_config(home, "colour: blue\n")
    result = hermes("config", "show", env=clean_env(home))
    assert result.returncode != 0
    assert "colour" in result.stderr
    assert "Traceback" not in result.stderr
