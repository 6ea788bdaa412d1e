"""With API_KEY set, the page shows only the key prompt until it has the key, then the server's data."""

from playwright.sync_api import expect

from tests.browser.conftest import Tab
from tests.conftest import ServerFactory

KEY = "page-test-key-7f3a"


def test_the_page_asks_for_the_key_once_then_shows_the_data(server_factory: ServerFactory, tab: Tab) -> None:
    server = server_factory(api_key=KEY)
    page = tab.page
    page.goto(server.base_url)
    expect(page.get_by_label("API key", exact=True)).to_be_visible()
    expect(page.locator("#app")).to_be_hidden()
    expect(page.locator("#tabs")).to_be_hidden()
    for nothing_else in ("#engine-pill", "#forget-key", "#loading"):
        expect(page.locator(nothing_else)).to_be_hidden()
    assert [url for url in tab.requested if "/api/" in url] == [f"{server.base_url}/api/v1/system/status"]
    page.get_by_label("API key", exact=True).fill("not-the-key")
    page.get_by_role("button", name="Unlock").click()
    expect(page.locator("#key-error")).to_contain_text("not accepted")
    expect(page.locator("#app")).to_be_hidden()

    page.get_by_label("API key", exact=True).fill(KEY)
    page.get_by_role("button", name="Unlock").click()
    expect(page.locator("#engine-pill")).to_have_text("Engine: torch ready")
    expect(page.locator("#speak-voice option").first).to_be_attached()
    page.get_by_role("link", name="Server").click()
    expect(page.locator("#kinds-view [data-kind='tts']")).to_contain_text("running")

    page.reload()
    expect(page.locator("#engine-pill")).to_have_text("Engine: torch ready")
    expect(page.locator("#key-prompt")).to_be_hidden()
    page.get_by_role("button", name="Forget the key").click()
    expect(page.get_by_label("API key", exact=True)).to_be_visible()
    expect(page.locator("#app")).to_be_hidden()
    assert tab.outside(server.base_url) == []
    assert tab.script_errors == []
