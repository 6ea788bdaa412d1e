"""The page on a phone-width screen, driven by the keyboard: every view fits, every control has a label."""

from playwright.sync_api import expect

from tests.browser.conftest import Tab
from tests.support.local_server import RunningServer

VIEWS = ("Speak", "Video", "Tools", "Files", "Server")
WIDER_THAN_THE_SCREEN = "() => document.documentElement.scrollWidth - window.innerWidth"
UNLABELLED_CONTROLS = """() => [...document.querySelectorAll('input, select, textarea, button')]
    .filter((control) => control.checkVisibility() || control.classList.contains('visually-hidden'))
    .filter((control) => !(control.labels && control.labels.length) && !control.getAttribute('aria-label')
        && !(control.tagName === 'BUTTON' && control.textContent.trim()))
    .map((control) => control.outerHTML)"""


def test_every_view_fits_a_phone_and_is_reached_by_keyboard(torch_server: RunningServer, tab: Tab) -> None:
    page = tab.page
    page.set_viewport_size({"width": 390, "height": 844})
    tab.open(torch_server.base_url)
    for view in VIEWS:
        link = page.get_by_role("link", name=view, exact=True)
        link.focus()
        page.keyboard.press("Enter")
        expect(link).to_have_attribute("aria-current", "page")
        expect(page.get_by_role("heading", level=2).filter(visible=True).first).to_be_focused()
        assert page.evaluate(WIDER_THAN_THE_SCREEN) <= 0, f"the {view} view is wider than a phone's screen"
        assert page.evaluate(UNLABELLED_CONTROLS) == [], f"controls without a label in the {view} view"
    assert tab.script_errors == []
