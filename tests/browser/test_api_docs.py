"""The API docs work on a server without internet access: every asset comes from the server itself."""

from playwright.sync_api import expect

from tests.browser.conftest import Tab
from tests.support.local_server import RunningServer


def test_swagger_ui_lists_the_operations_with_nothing_requested_from_outside(
    torch_server: RunningServer, tab: Tab
) -> None:
    tab.page.goto(f"{torch_server.base_url}/docs")
    operations = tab.page.locator(".opblock")
    expect(operations.first).to_be_visible()
    expect(
        tab.page.locator(".opblock-summary-path", has_text="/api/v1/media/audio-tools/tts/kokoro").first
    ).to_be_visible()
    assert operations.count() > 10
    expect(tab.page.locator("button.authorize")).to_be_visible()
    assert tab.outside(torch_server.base_url) == []
    assert tab.script_errors == []


def test_the_authorize_button_takes_the_api_key(torch_server: RunningServer, tab: Tab) -> None:
    tab.page.goto(f"{torch_server.base_url}/docs")
    tab.page.locator("button.authorize").click()
    expect(tab.page.locator(".auth-container", has_text="X-API-Key")).to_be_visible()
    expect(tab.page.locator(".auth-container", has_text="HTTPBearer")).to_be_visible()
    assert tab.outside(torch_server.base_url) == []


def test_redoc_lists_the_operations_with_nothing_requested_from_outside(torch_server: RunningServer, tab: Tab) -> None:
    tab.page.goto(f"{torch_server.base_url}/redoc")
    expect(tab.page.locator("[data-section-id^='operation/']").first).to_be_attached()
    expect(tab.page.get_by_text("/api/v1/media/audio-tools/tts/kokoro").first).to_be_attached()
    assert tab.outside(torch_server.base_url) == []
    assert tab.script_errors == []
