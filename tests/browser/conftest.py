"""Fixtures for the console's browser tests: Debian's Chromium, driven headless by
Playwright (never a browser Playwright downloads), against the real inferd binary.

Every page a test opens records the browser console; a test fails when the page logged an
error or threw, unless the test names the error it expects. Screenshots go to
INFERD_SCREENSHOT_DIR (default build/screenshots), which CI keeps as an artifact."""
import importlib.util
import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
# The integration tests' server runner, loaded under its own name (both files are conftest.py).
_spec = importlib.util.spec_from_file_location(
    "integration_conftest", ROOT / "tests" / "integration" / "conftest.py")
integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(integration)

CHROMIUM = os.environ.get("INFERD_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("INFERD_SCREENSHOT_DIR", ROOT / "build" / "screenshots"))
VIEWPORT = {"width": 1366, "height": 900}


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-deps.sh (Debian's chromium)")
    with sync_playwright() as p:
        # Root in a container has no user namespaces for Chromium's sandbox, and a
        # container's /dev/shm is often too small for its shared memory.
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


class ConsolePage:
    """A browser tab with its console errors collected."""

    def __init__(self, page):
        self.page = page
        self.errors = []
        self.allowed = []  # predicates over error texts a test expects
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

    def _console(self, message):
        if message.type == "error":
            where = message.location.get("url", "")
            self.errors.append(f"{message.text} ({where})")

    def allow(self, predicate):
        self.allowed.append(predicate)

    def unexpected_errors(self):
        return [e for e in self.errors if not any(ok(e) for ok in self.allowed)]

    def screenshot(self, name):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def console(browser):
    context = browser.new_context(viewport=VIEWPORT)
    page = ConsolePage(context.new_page())
    page.page.set_default_timeout(30_000)
    yield page
    context.close()
    assert page.unexpected_errors() == [], "the browser console logged errors"
