"""The web page in a real headless Chromium (Debian's `chromium` package), driven by Playwright.

One browser for the whole folder (package scope: Playwright's sync API marks its event loop as running in this
thread while it lives, which asyncio tests elsewhere must not see), a fresh context and page per test, a
screenshot of each page under the test's tmp_path, and every request the page makes recorded."""

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path(os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium"))
HOW_TO_INSTALL = (
    f"Chromium is not installed at {CHROMIUM}: the browser tests need it. Install it with "
    "`sudo apt-get install -y chromium chromium-driver` (.ci/run does), or set CHROMIUM_BINARY."
)
WAIT_MS = 90_000
"""How long a step may take in the page: generous, the suite shares two cores with other suites."""


HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Without Chromium, skip this folder's tests before any fixture starts a server or a browser."""
    if CHROMIUM.exists():
        return
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.skip(reason=HOW_TO_INSTALL))


@pytest.fixture(scope="package")
def browser() -> Iterator["Browser"]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--disable-gpu", "--autoplay-policy=no-user-gesture-required"]
        )
        yield chromium
        chromium.close()


@dataclass
class Tab:
    """A page and what it did: every URL it requested, and the errors its scripts threw."""

    page: "Page"
    requested: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)

    def open(self, url: str) -> None:
        """Go to the web page at `url` and wait until its views are set up (it sets `data-ready` on the body)."""
        self.page.goto(url)
        self.page.locator("body[data-ready='true']").wait_for(state="attached")

    def outside(self, origin: str) -> list[str]:
        """Requests that went anywhere but `origin` (data: and blob: URLs stay in the page)."""
        return [url for url in self.requested if not url.startswith((origin + "/", "data:", "blob:"))]


@pytest.fixture
def tab(browser: "Browser", tmp_path: Path) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    opened = Tab(page)
    context.on("request", lambda request: opened.requested.append(request.url))
    page.on("pageerror", lambda error: opened.script_errors.append(str(error)))
    page.on("dialog", lambda dialog: dialog.accept())
    yield opened
    page.screenshot(path=tmp_path / "page.png")
    context.close()
