"""The gateway's settings (`gateway:` in config.yaml, `HERMES_GATEWAY_*`, `HERMES_TELEGRAM_*`,
`HERMES_WEBHOOK_*`) and the `hermes gateway` command's checks and pairing codes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from hermes_agent.errors import ConfigError
from hermes_agent.settings import (
    GATEWAY_ENV_KEYS,
    load_gateway_settings,
    load_settings,
    set_config_value,
)
from tests.fakes.telegram_server import FakeTelegram
from tests.test_settings import clean_env, env_for, hermes, write_config


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """HERMES_HOME for one test: nothing in it yet."""
    return tmp_path


def test_by_default_no_platform_is_enabled_and_nobody_is_allowed(home):
    settings = load_gateway_settings(env_for(home))
    assert settings.platforms == ()
    assert settings.telegram.token is None
    assert settings.telegram.allowed_users == ()
    assert settings.telegram.base_url == "https://api.telegram.org/bot"
    assert settings.webhook.hooks == {}
    assert settings.webhook.host == "127.0.0.1"
    assert settings.pairing is True
    assert settings.telegram.group_mode == "mention"


def test_the_gateway_section_of_the_config_file_is_read_and_ids_become_text(home):
    write_config(
        home,
        "model: gpt-4o\n"
        "gateway:\n"
        "  platforms: [telegram, webhook]\n"
        "  telegram: {token: '1:abc', allowed_users: [123, 456]}\n"
        "  webhook:\n"
        "    port: 9000\n"
        "    hooks: {ci: {secret: 'a-secret-of-16-chars', callback_url: 'https://x.org/cb'}}\n",
    )
    settings = load_gateway_settings(env_for(home))
    assert settings.platforms == ("telegram", "webhook")
    assert settings.telegram.allowed_users == ("123", "456")
    assert settings.webhook.port == 9000
    assert settings.webhook.hooks["ci"].callback_url == "https://x.org/cb"
    assert load_settings(env_for(home)).model == "gpt-4o"  # the agent ignores the section


def test_every_gateway_environment_variable_is_parsed(home):
    env = {
        "HERMES_GATEWAY_PLATFORMS": "telegram, webhook",
        "HERMES_GATEWAY_PAIRING": "false",
        "HERMES_GATEWAY_WORKSPACE": "/srv/hermes",
        "HERMES_GATEWAY_SHUTDOWN_TIMEOUT": "5",
        "HERMES_TELEGRAM_TOKEN": "42:token",
        "HERMES_TELEGRAM_BASE_URL": "http://127.0.0.1:9/bot",
        "HERMES_TELEGRAM_ALLOWED_USERS": "1, 2,,3",
        "HERMES_TELEGRAM_POLL_TIMEOUT": "3",
        "HERMES_TELEGRAM_GROUP_MODE": "all",
        "HERMES_WEBHOOK_HOST": "0.0.0.0",
        "HERMES_WEBHOOK_PORT": "9001",
        "HERMES_WEBHOOK_REPLY_TIMEOUT": "2.5",
        "HERMES_WEBHOOK_SECRETS": "ci=0123456789abcdef,ops=fedcba9876543210",
        "HERMES_WEBHOOK_CALLBACK_URLS": "ops=http://127.0.0.1:9/cb",
    }
    assert set(env) == set(GATEWAY_ENV_KEYS), "a new environment variable needs a case here"
    settings = load_gateway_settings(env_for(home, **env))
    assert settings.model_dump() == {
        "platforms": ("telegram", "webhook"),
        "pairing": False,
        "workspace": "/srv/hermes",
        "shutdown_timeout": 5.0,
        "telegram": {
            "token": "42:token",
            "base_url": "http://127.0.0.1:9/bot",
            "allowed_users": ("1", "2", "3"),
            "poll_timeout": 3,
            "group_mode": "all",
        },
        "webhook": {
            "host": "0.0.0.0",
            "port": 9001,
            "reply_timeout": 2.5,
            "hooks": {
                "ci": {"secret": "0123456789abcdef", "callback_url": None},
                "ops": {"secret": "fedcba9876543210", "callback_url": "http://127.0.0.1:9/cb"},
            },
        },
    }


def test_the_environment_wins_over_the_file_and_telegram_bot_token_is_a_fallback(home):
    write_config(home, "gateway: {telegram: {allowed_users: [1]}}\n")
    env = env_for(home, TELEGRAM_BOT_TOKEN="7:fallback", HERMES_TELEGRAM_ALLOWED_USERS="9")
    settings = load_gateway_settings(env)
    assert settings.telegram.token == "7:fallback"
    assert settings.telegram.allowed_users == ("9",)
    env["HERMES_TELEGRAM_TOKEN"] = "8:explicit"
    assert load_gateway_settings(env).telegram.token == "8:explicit"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("gateway: {platforms: [discord]}\n", "platforms"),
        ("gateway: {webhook: {hooks: {ci: {secret: short}}}}\n", "secret"),
        ("gateway: {webhook: {hooks: {ci: {secret: 0123456789abcdef, callback_url: ftp://x}}}}\n",
         "callback_url"),
        ("gateway: {telegram: {tokn: x}}\n", "tokn"),
        ("gateway: {telegram: {group_mode: sometimes}}\n", "group_mode"),
        ("gateway: [1, 2]\n", "mapping"),
    ],
)  # fmt: skip
def test_bad_gateway_settings_are_config_errors_naming_the_setting(home, text, named):
    write_config(home, text)
    with pytest.raises(ConfigError, match=named):
        load_gateway_settings(env_for(home))


def test_hermes_config_set_writes_a_gateway_setting_into_its_section(home):
    env = env_for(home)
    set_config_value("model", "gpt-4o", env)
    set_config_value("gateway.telegram.token", "5:abc", env)
    set_config_value("gateway.telegram.allowed_users", "11, 12", env)
    set_config_value("gateway.platforms", "telegram", env)
    saved = yaml.safe_load((home / "config.yaml").read_text())
    assert saved["model"] == "gpt-4o"
    assert saved["gateway"] == {
        "platforms": ["telegram"],
        "telegram": {"token": "5:abc", "allowed_users": ["11", "12"]},
    }
    assert load_gateway_settings(env).telegram.allowed_users == ("11", "12")


@pytest.mark.parametrize(
    ("key", "value"),
    [("gateway.webhook.port", "many"), ("gateway.nope", "1"), ("gateway.platforms", "irc")],
)
def test_hermes_config_set_validates_a_gateway_setting_before_writing(home, key, value):
    write_config(home, "model: untouched\n")
    with pytest.raises(ConfigError):
        set_config_value(key, value, env_for(home))
    assert (home / "config.yaml").read_text() == "model: untouched\n"


# -- the command ------------------------------------------------------------------------------


def gateway_cli(home: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return hermes("gateway", *args, env=clean_env(home, TELEGRAM_BOT_TOKEN="", **extra))


def test_the_gateway_refuses_to_start_without_a_platform(home):
    result = gateway_cli(home)
    assert result.returncode == 1
    assert "no platform is enabled" in result.stderr


def test_the_gateway_refuses_to_start_telegram_without_a_token(home):
    result = gateway_cli(home, "run", HERMES_GATEWAY_PLATFORMS="telegram")
    assert result.returncode == 1
    assert "gateway.telegram.token" in result.stderr


def test_pair_prints_a_one_time_code_and_stores_only_its_hash(home):
    result = gateway_cli(home, "pair", "--minutes", "5")
    assert result.returncode == 0, result.stderr
    code = result.stdout.split("Pairing code: ")[1].split()[0]
    assert len(code) == 9 and code[4] == "-"
    stored = (home / "gateway" / "access.json").read_text()
    assert code not in stored and code.replace("-", "") not in stored
    [entry] = json.loads(stored)["codes"]
    assert entry["platform"] is None


def test_pair_refuses_a_validity_of_zero_minutes(home):
    result = gateway_cli(home, "pair", "--minutes", "0")
    assert result.returncode == 1
    assert "--minutes" in result.stderr


def test_pair_refuses_a_platform_that_is_not_installed_and_names_the_installed_ones(home):
    result = gateway_cli(home, "pair", "--platform", "irc")
    assert result.returncode == 1
    assert "--platform 'irc' is not installed; installed: telegram, webhook" in result.stderr
    assert not (home / "gateway" / "access.json").exists()


def test_the_gateway_says_so_when_telegram_rejects_the_token(home):
    with FakeTelegram() as tg:
        result = gateway_cli(
            home,
            HERMES_GATEWAY_PLATFORMS="telegram",
            HERMES_TELEGRAM_TOKEN="999:WRONG",
            HERMES_TELEGRAM_BASE_URL=tg.base_url,
        )
    assert result.returncode == 1
    assert "Telegram rejected the bot token" in result.stderr
