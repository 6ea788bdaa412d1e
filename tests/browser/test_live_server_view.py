"""The server view follows jobs live from the event stream: a job shows up queued and turns ready, no reload."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import Tab
from tests.conftest import ServerFactory

TTS = "/api/v1/media/audio-tools/tts/kokoro"
RAN_FOR = re.compile(r"^\d+(\.\d)? s$|^\d+ min \d\d s$")


def test_a_job_appears_in_the_live_list_and_turns_ready_without_reloading(
    server_factory: ServerFactory, tab: Tab
) -> None:
    server = server_factory(max_concurrent_tts=1)
    page = tab.page
    tab.open(f"{server.base_url}/#server")
    expect(page.locator("#live-state")).to_have_text("live")
    for kind in ("tts", "video", "audio", "stt"):
        expect(page.locator(f"#kinds-view [data-kind='{kind}']")).to_contain_text("running")
    page.evaluate("() => { window.sameDocument = true; }")
    with server.hold_slot("tts"):
        response = server.client.post(TTS, data={"text": "Live from the queue.", "name": "live-job"})
        assert response.status_code == 202, response.text
        row = page.locator(f"#jobs-body tr[data-file-id='{response.json()['file_id']}']")
        expect(row).to_have_attribute("data-status", "queued")
        expect(row).to_contain_text("live-job")
        expect(page.locator("#kinds-view [data-kind='tts']")).to_contain_text("1 of 1 running · 1 queued")
    expect(row).to_have_attribute("data-status", "ready")
    expect(row.locator("td").nth(4)).to_have_text(RAN_FOR)
    expect(page.locator("#kinds-view [data-kind='tts']")).to_contain_text("0 of 1 running · 0 queued")
    assert page.evaluate("() => window.sameDocument") is True
    assert tab.outside(server.base_url) == []
    assert tab.script_errors == []
