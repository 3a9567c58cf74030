"""What a page did wrong (console errors, uncaught exceptions), fresh browser contexts (each its
own cookie jar and storage) that record uncaught errors, and ways to act while a page loads."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from playwright.sync_api import expect

from tests.support import ServerProcess

CONFIG_API_KEY = "sk-test-secret-0123456789abcdef"


def config_file_server(fake_llm: Any, root: Path) -> ServerProcess:
    """A started server whose provider (the scripted fake) comes from config.yaml, which the
    settings dialog can change, rather than from the environment, which would win over it."""
    home = root / "hermes-home"
    home.mkdir()
    config = {
        "provider": "openai",
        "base_url": fake_llm.base_url,
        "api_key": CONFIG_API_KEY,
        "model": "fake-model",
        "max_retries": 0,
        "llm_titles": False,
    }
    (home / "config.yaml").write_text(yaml.safe_dump(config))
    return ServerProcess(root).start()


@dataclass
class PageErrors:
    """What went wrong inside a page: console errors and uncaught exceptions."""

    console: list[str] = field(default_factory=list)
    uncaught: list[str] = field(default_factory=list)


def collect_errors(page: Any) -> PageErrors:
    """Uncaught exceptions and console errors of `page` from now on."""
    errors = PageErrors()

    def on_console(msg) -> None:
        if msg.type == "error":
            errors.console.append(f"{msg.text} ({msg.location.get('url', '')})")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.uncaught.append(str(exc)))
    return errors


@dataclass
class Contexts:
    """Opens pages in new contexts on `base`; `uncaught` collects every page's exceptions."""

    browser: Any
    base: str
    uncaught: list[str] = field(default_factory=list)
    _open: list[Any] = field(default_factory=list)

    def page(self, **options: Any) -> Any:
        context = self.browser.new_context(
            viewport={"width": 1280, "height": 800}, base_url=self.base, **options
        )
        self._open.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("pageerror", lambda exc: self.uncaught.append(f"{page.url}: {exc}"))
        return page

    def close(self) -> None:
        for context in self._open:
            context.close()
        self._open.clear()


@contextlib.contextmanager
def fresh_page(browser, base_url: str | None = None) -> Iterator:
    """A page in a context of its own (cookies, storage); relative URLs go to `base_url`."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=base_url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


def wait_until_loaded(page: Any) -> None:
    """Waits until the page has shown its first conversation (the chat pane stops being busy)."""
    expect(page.locator("#chat")).not_to_have_attribute("aria-busy", "true")


class HeldRequests:
    """Holds the page's requests to `pattern` until `release()`, to act while the page loads."""

    def __init__(self, page: Any, pattern: str) -> None:
        self.page, self.pattern, self.routes = page, pattern, []

        def hold(route: Any) -> None:
            self.routes.append(route)

        self._hold = hold
        page.route(pattern, hold)

    def wait(self) -> None:
        """Returns once the page asked; route handlers only run while Playwright waits."""
        for _ in range(500):
            if self.routes:
                return
            self.page.wait_for_timeout(20)
        raise AssertionError(f"the page never requested {self.pattern}")

    def release(self) -> None:
        for route in self.routes:
            route.continue_()
        self.page.unroute(self.pattern, self._hold)
