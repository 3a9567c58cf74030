"""The browser UI is served by the web server as static pages and ES modules."""

from __future__ import annotations

import re

from tests.conftest import TEST_BASE
from tests.support import request


def test_the_app_page_is_html_that_loads_its_module():
    reply = request(TEST_BASE, "GET", "/")
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/html")
    html = reply.body.decode()
    assert "<title>" in html and "Hermes" in html
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert scripts and all(src.startswith("/static/") for src in scripts)
    assert "<script>" not in html, "no inline script: the CSP forbids it"


def test_every_module_and_stylesheet_is_served_with_its_type():
    for path, kind in (("/static/js/app.js", "javascript"), ("/static/css/app.css", "text/css")):
        reply = request(TEST_BASE, "GET", path)
        assert reply.status == 200, path
        assert kind in reply.headers["content-type"], path


def test_the_login_page_is_served_and_unknown_assets_are_404_json():
    assert request(TEST_BASE, "GET", "/login").status == 200
    missing = request(TEST_BASE, "GET", "/static/js/nope.js")
    assert missing.status == 404
    assert request(TEST_BASE, "POST", "/", {}).status == 405
