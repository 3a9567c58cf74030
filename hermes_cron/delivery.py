"""Where a run's answer goes: the web UI, a Telegram chat, or a signed webhook callback.

`web` needs no sending: the run is a conversation in state.db, listed under "Scheduled", and
an open page notices new runs and shows a notification. `telegram:<chat>` goes out through the
gateway's bot, and only to a chat the gateway already serves (an allowed or paired person, or a
chat it has a conversation in): a job, or a model that made one, cannot message strangers.
`webhook:<name>` posts the answer to that hook's `callback_url`, signed with its secret as the
gateway's webhook replies are. The gateway's Telegram formatting and webhook signing are used
as they are, so a scheduled answer looks and verifies like any other; its files are only read.
The result says what happened: the target, or why it failed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from hermes_agent.errors import ConfigError

if TYPE_CHECKING:
    from hermes_agent.settings import Settings

log = logging.getLogger(__name__)

TIMEOUT = 15.0


def deliver(settings: Settings, job: dict[str, Any], text: str, session_id: str) -> str:
    target = job["deliver"]
    kind, _, where = target.partition(":")
    try:
        if kind == "telegram":
            _telegram(where, text)
        elif kind == "webhook":
            _webhook(where, job, text, session_id)
    except (DeliveryFailed, httpx.HTTPError, OSError) as exc:
        log.warning("scheduled job %s: delivery to %s failed: %s", job["id"], target, exc)
        return f"failed: {exc}"
    return target


class DeliveryFailed(Exception):
    pass


def problem_with(target: str) -> str | None:
    """Why answers could not reach `target` as things are set up now, or None. Said when a
    job is saved, so a mistyped chat or hook is noticed before the first run; the job is
    kept, as the setup may still change."""
    kind, _, where = target.partition(":")
    try:
        if kind == "telegram":
            _telegram_chat_section(where)
        elif kind == "webhook":
            _hook(where)
    except (DeliveryFailed, ConfigError) as exc:
        return str(exc)
    return None


def _telegram_chat_section(chat: str) -> Any:
    """The gateway's Telegram settings, when they serve `chat`."""
    from hermes_agent.settings import load_gateway_settings

    section = load_gateway_settings().section("telegram")
    if not getattr(section, "token", None):
        raise DeliveryFailed("no Telegram bot is configured (gateway.telegram.token)")
    if not _known_chat(chat, section):
        raise DeliveryFailed(f"chat {chat} is not one the gateway serves")
    return section


def _telegram(chat: str, text: str) -> None:
    from gateway.platforms.telegram_format import split_message

    section = _telegram_chat_section(chat)
    base = f"{section.base_url}{section.token}"
    with httpx.Client(timeout=TIMEOUT) as client:
        for chunk in split_message(text):
            body = {"chat_id": int(chat), "text": chunk.html, "parse_mode": "HTML"}
            reply = client.post(f"{base}/sendMessage", json=body)
            if reply.status_code == 400:  # Telegram refused the HTML: send the words plainly
                plain = {"chat_id": int(chat), "text": chunk.plain}
                reply = client.post(f"{base}/sendMessage", json=plain)
            if reply.status_code != 200:
                raise DeliveryFailed(f"Telegram answered {reply.status_code}")


def _known_chat(chat: str, section: Any) -> bool:
    if chat in set(getattr(section, "allowed_users", ())):
        return True
    paired = (_gateway_file("access.json").get("paired") or {}).get("telegram", ())
    if chat in set(paired):
        return True
    return any(_telegram_chat(key) == chat for key in _gateway_file("sessions.json"))


def target_of(session_id: str) -> str:
    """Where a conversation is: `telegram:<chat>` when the gateway serves it on Telegram,
    else `web` (where every conversation can be read)."""
    for key, entry in _gateway_file("sessions.json").items():
        chat = _telegram_chat(key)
        if chat and isinstance(entry, dict) and entry.get("session_id") == session_id:
            return f"telegram:{chat}"
    return "web"


def _telegram_chat(key: str) -> str | None:
    """The chat of a gateway conversation key (`agent:main:<platform>:<type>:<chat>[:user]`)
    on Telegram."""
    parts = key.split(":")
    return parts[4] if len(parts) > 4 and parts[2] == "telegram" else None


def _gateway_file(name: str) -> dict[str, Any]:
    """One of the gateway's files in `$HERMES_HOME/gateway/`, only read ({} when missing or
    unreadable: the gateway itself deals with a damaged one)."""
    from hermes_agent.settings import hermes_home

    try:
        data = orjson.loads((hermes_home() / "gateway" / name).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _hook(name: str) -> Any:
    """The gateway's webhook `name`, when it has a callback URL to post answers to."""
    from hermes_agent.settings import load_gateway_settings

    hooks = getattr(load_gateway_settings().section("webhook"), "hooks", {})
    hook = hooks.get(name)
    if hook is None or not hook.callback_url:
        raise DeliveryFailed(f"the webhook {name!r} has no callback_url")
    return hook


def _webhook(name: str, job: dict[str, Any], text: str, session_id: str) -> None:
    from gateway.platforms.webhook_auth import signed_headers

    hook = _hook(name)
    body = orjson.dumps(
        {
            "status": "scheduled",
            "job_id": job["id"],
            "job": job["name"],
            "reply": text,
            "session_id": session_id,
        }
    )
    headers = {"Content-Type": "application/json", **signed_headers(hook.secret, body)}
    with httpx.Client(timeout=TIMEOUT) as client:
        reply = client.post(hook.callback_url, content=body, headers=headers)
    if reply.status_code >= 300:
        raise DeliveryFailed(f"the callback answered {reply.status_code}")
