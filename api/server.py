"""Running the web server under uvicorn, with the bind-address safety check."""

from __future__ import annotations

import logging
import socket

from api.auth import password_source
from hermes_agent.errors import ConfigError
from hermes_agent.runtime import current_settings
from hermes_agent.settings import Settings
from hermes_http.connections import listener_options
from hermes_http.hosts import HostPolicy, is_loopback

log = logging.getLogger(__name__)


def check_bind(host: str, insecure: bool) -> None:
    """Refuse to expose the server beyond this machine unless the user insists.

    The server can read and write files in its workspaces; on a shared network that is a
    remote shell for anyone who finds the port.
    """
    if is_loopback(host):
        return
    source = password_source()
    if source is not None:
        log.warning("Listening on %s; a password (from %s) is required to use it.", host, source)
        return
    if not insecure:
        raise SystemExit(
            f"Refusing to listen on {host}: that exposes your sessions and workspaces to the "
            "network. Set HERMES_WEBUI_PASSWORD (or a password in Settings, on 127.0.0.1 first), "
            "or listen on 127.0.0.1 and use an SSH tunnel or an authenticating reverse proxy, "
            "or pass --insecure if you really mean it."
        )
    log.warning("!" * 72)
    log.warning("LISTENING ON %s WITHOUT AUTHENTICATION (--insecure).", host)
    log.warning("Anyone who can reach this port can read your sessions and run your agent.")
    log.warning("!" * 72)


def serve(host: str, port: int, *, insecure: bool = False, log_level: str = "info") -> None:
    import uvicorn

    from api.app import create_app

    check_bind(host, insecure)
    settings = _settings_for_listening()
    _check_port_free(host, port)
    shown = f"[{host}]" if ":" in host else host
    policy = HostPolicy(host, settings.allowed_hosts)
    announce = log.info if is_loopback(host) else log.warning
    announce("Hermes Station web UI on http://%s:%d", shown, port)
    announce(
        "It answers to Host: %s. Other names get 421: list them in HERMES_ALLOWED_HOSTS.",
        ", ".join(policy.expected()),
    )
    uvicorn.run(
        create_app(host),
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        log_config=None,
        server_header=False,
        timeout_graceful_shutdown=5,
        **listener_options(settings.trusted_proxies),
    )


def _settings_for_listening() -> Settings:
    """The settings, or the defaults when config.yaml is broken: the UI then says what is wrong."""
    try:
        return current_settings()
    except ConfigError as exc:
        log.warning("%s; listening with the default host and proxy settings", exc)
        return Settings()


def _check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise SystemExit(f"Cannot listen on {host}:{port}: {exc.strerror}") from None
