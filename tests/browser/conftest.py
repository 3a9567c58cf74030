"""Browser fixtures: Debian's headless Chromium driven by Playwright's sync API.

The browser is the system package at /usr/bin/chromium (installed by `make test`); Playwright's
own browser download is never used. The flags keep Chromium off the network except for the
pages the tests load from the local test server.
"""

from __future__ import annotations

import os
import pathlib
import tempfile

import pytest

from tests.browser.pages import PageErrors, collect_errors, config_file_server, fresh_page
from tests.fakes.openai_server import FakeOpenAI
from tests.support import ServerProcess, fake_provider_env

CHROMIUM = os.environ.get("HERMES_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="package")
def browser():
    """One Chromium for the browser tests, closed when they are done: Playwright's sync API
    keeps an event loop running in this thread while it is open, and tests elsewhere start
    their own with `asyncio.run`."""
    if not pathlib.Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install -y chromium`) "
            "or run `make test`, which installs it when run as root"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            timeout=60_000,
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh page against the live test server."""
    with fresh_page(browser) as page:
        yield page


@pytest.fixture
def page_errors(page) -> PageErrors:
    """Console errors and uncaught exceptions of `page`, collected from before its first load."""
    return collect_errors(page)


@pytest.fixture
def chat_page_errors(chat_page) -> PageErrors:
    """The same for `chat_page`."""
    return collect_errors(chat_page)


@pytest.fixture(scope="session")
def screenshot_dir() -> pathlib.Path:
    """Where screenshots go: docs/screenshots with HERMES_UPDATE_SCREENSHOTS=1 (to refresh the
    README's pictures), else a temp dir, so a test run never changes the work tree."""
    if os.environ.get("HERMES_UPDATE_SCREENSHOTS") == "1":
        target = pathlib.Path(__file__).resolve().parents[2] / "docs" / "screenshots"
        target.mkdir(parents=True, exist_ok=True)
        return target
    return pathlib.Path(tempfile.mkdtemp(prefix="hermes-screens-"))


@pytest.fixture(scope="module")
def fake_llm():
    """The scripted provider behind `chat_server`; each test scripts the turns it expects."""
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="module")
def chat_server(fake_llm, tmp_path_factory) -> ServerProcess:
    """A `hermes web` process of its own whose model is the scripted fake provider."""
    server = ServerProcess(
        tmp_path_factory.mktemp("ui-chat"), extra_env=fake_provider_env(fake_llm)
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def chat_page(browser, chat_server, fake_llm):
    """A fresh page on `chat_server`; relative URLs go there. The script starts empty."""
    fake_llm.clear_script()
    with fresh_page(browser, chat_server.base) as page:
        yield page


@pytest.fixture(scope="module")
def settings_server(fake_llm, tmp_path_factory) -> ServerProcess:
    """A server configured through config.yaml, as a person's is, so settings are editable."""
    process = config_file_server(fake_llm, tmp_path_factory.mktemp("ui-settings"))
    try:
        yield process
    finally:
        process.stop()
