"""Speaking a text from the page: the audio plays from the server, the spoken word is highlighted."""

from playwright.sync_api import expect

from tests.browser.conftest import Tab
from tests.support.local_server import RunningServer

VOICES = "/api/v1/media/audio-tools/tts/kokoro/voices"
READY_FOR_PLAYING = 2
"""HTMLMediaElement.HAVE_CURRENT_DATA: the element has data to play at its position."""


def test_a_spoken_text_plays_in_the_page_with_its_words_highlighted(torch_server: RunningServer, tab: Tab) -> None:
    page = tab.page
    tab.open(torch_server.base_url)
    voices = torch_server.client.get(VOICES).json()
    expect(page.locator("#speak-voice")).to_have_value(voices["default_voice"])
    first_group = page.locator("#speak-voice optgroup").first.get_attribute("label") or ""
    assert first_group.endswith("installed")
    page.fill("#speak-text", "Hello there. The page speaks.")
    page.get_by_role("button", name="Speak").click()
    page.wait_for_function(f"() => document.getElementById('speak-audio').readyState >= {READY_FOR_PLAYING}")
    assert page.eval_on_selector("#speak-audio", "audio => audio.src").startswith(torch_server.base_url)
    words = page.locator("#speak-words .word")
    expect(words.first).to_be_visible()
    assert words.all_inner_texts()[:2] == ["Hello", "there"]
    expect(page.locator("#speak-words")).to_have_text("Hello there. The page speaks.")
    second_start = float(words.nth(1).get_attribute("data-start") or "nan")
    page.eval_on_selector("#speak-audio", f"audio => {{ audio.currentTime = {second_start + 0.01}; }}")
    expect(page.locator("#speak-words .word.current")).to_have_text("there")
    expect(page.locator("#speak-status")).to_have_text("Ready")
    assert tab.outside(torch_server.base_url) == []
    assert tab.script_errors == []
