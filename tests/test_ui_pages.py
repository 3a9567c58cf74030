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


def test_both_pages_declare_the_svg_favicon_and_it_is_served_as_an_image():
    for page in ("/", "/login"):
        html = request(TEST_BASE, "GET", page).body.decode()
        icons = re.findall(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', html)
        assert icons == ["/static/favicon.svg"], page
    icon = request(TEST_BASE, "GET", "/static/favicon.svg")
    assert icon.status == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.body.lstrip().startswith(b"<svg")


def test_the_favicon_is_also_served_where_browsers_look_by_default():
    for method in ("GET", "HEAD"):
        reply = request(TEST_BASE, method, "/favicon.ico")
        assert reply.status == 200, method
        assert reply.headers["content-type"].startswith("image/svg+xml"), method
    assert request(TEST_BASE, "GET", "/favicon.ico").body == (
        request(TEST_BASE, "GET", "/static/favicon.svg").body
    )
