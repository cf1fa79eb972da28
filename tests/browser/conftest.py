"""Headless Chromium from the system's packages, driven by Playwright, for the browser tests.

Debian's ``chromium`` (``scripts/browser.sh install``) at ``/usr/bin/chromium``
(or ``MOVIEMIND_CHROMIUM``); Playwright's own browser download is never used.
Without a browser the tests skip, saying why; with ``MOVIEMIND_REQUIRE_BROWSER=1``
(CI sets it once the browser is installed) they fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("MOVIEMIND_CHROMIUM", "/usr/bin/chromium"))
# The machine's network is closed: without the background-networking flags Chromium
# keeps trying to reach Google's hosts.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REQUIRED = os.environ.get("MOVIEMIND_REQUIRE_BROWSER") == "1"


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason} (MOVIEMIND_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per module: Playwright's sync API runs an event loop on this
    thread while it is open, and asyncio.run (the TUI tests) refuses to start beside it."""
    if not CHROMIUM.exists():
        _unavailable(f"no browser: {CHROMIUM} is missing (scripts/browser.sh install)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("no browser driver: playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield launched
        finally:
            launched.close()


class Watched:
    """A page, and every console error and uncaught exception it had."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", lambda message: self._console(message))
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        # Anything the page asks of a network is an error too: the report fetches nothing.
        page.on("request", lambda request: self._request(request.url))

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def _request(self, url: str) -> None:
        if not url.startswith(("file:", "data:", "about:", "http://127.0.0.1", "http://localhost")):
            self.errors.append(f"fetched: {url}")


@pytest.fixture
def page(browser: Any) -> Iterator[Watched]:
    """A fresh page in its own context."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield Watched(context.new_page())
    finally:
        context.close()
