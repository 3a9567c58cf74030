"""The page says so while state.db was found damaged and its rows wait to be recovered."""

from __future__ import annotations

import subprocess
import sys

from playwright.sync_api import expect

from tests.browser.chat_support import open_app
from tests.browser.pages import fresh_page
from tests.damage import overwrite_root_page, record
from tests.support import REPO_ROOT, ServerProcess


def test_a_damaged_database_is_announced_until_it_is_repaired(browser, tmp_path):
    server = ServerProcess(tmp_path)
    home = server.root / "hermes-home"
    home.mkdir(parents=True)
    record(home / "state.db", {"from-terminal": 2})
    overwrite_root_page(home / "state.db", "schema_migrations")
    server.start()
    try:
        with fresh_page(browser, server.base) as page:
            open_app(page)
            notice = page.locator("#store-notice")
            expect(notice).to_be_visible()
            expect(notice).to_contain_text("state.db.damaged-")
            expect(notice).to_contain_text("hermes state repair")

            repaired = subprocess.run(
                [sys.executable, "-m", "hermes_cli", "state", "repair"],
                check=False,
                cwd=REPO_ROOT,
                env=server.env(),
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert repaired.returncode == 0, repaired.stdout + repaired.stderr
            open_app(page)
            expect(page.locator("#store-notice")).to_be_hidden()
    finally:
        server.stop()
