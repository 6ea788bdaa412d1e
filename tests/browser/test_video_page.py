"""Making a captioned video from the page: upload a background, style the captions (previewed), play it."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Tab
from tests.support.local_server import RunningServer
from tests.video.conftest import make_media

READY_FOR_PLAYING = 2


@pytest.fixture(scope="module")
def background(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("background") / "sunset.png"
    make_media("-f", "lavfi", "-i", "testsrc2=s=160x120", "-frames:v", "1", str(path))
    return path


def test_a_captioned_video_made_in_the_page_plays_there(
    torch_server: RunningServer, tab: Tab, background: Path
) -> None:
    page = tab.page
    tab.open(f"{torch_server.base_url}/#video")
    page.set_input_files("#video-background-file", str(background))
    expect(page.locator("#video-background option:checked")).to_have_text("sunset.png (image)")
    page.fill("#video-text", "Hi there.")
    page.get_by_label("Text colour").fill("#00ff00")
    page.get_by_label("Current word colour").fill("#ff00ff")
    words = page.locator("#cap-preview-text span")
    expect(words.first).to_have_css("color", "rgb(0, 255, 0)")
    expect(words.nth(1)).to_have_css("color", "rgb(255, 0, 255)")
    page.get_by_label("Size", exact=True).select_option("720x1280")
    page.get_by_role("button", name="Make the video").click()
    page.wait_for_function(f"() => document.getElementById('video-player').readyState >= {READY_FOR_PLAYING}")
    file_id = page.get_attribute("#video-result", "data-file-id")
    info = torch_server.client.get(f"/api/v1/media/storage/{file_id}/info").json()
    assert (info["status"], info["width"], info["height"]) == ("ready", 720, 1280)
    assert tab.outside(torch_server.base_url) == []
    assert tab.script_errors == []


def test_preview_frame_shows_the_servers_frame_of_the_form_as_a_one_scene_short(
    torch_server: RunningServer, tab: Tab, background: Path
) -> None:
    page = tab.page
    tab.open(f"{torch_server.base_url}/#video")
    page.set_input_files("#video-background-file", str(background))
    expect(page.locator("#video-background option:checked")).to_have_text("sunset.png (image)")
    page.fill("#video-text", "A frame before the render.")
    page.get_by_label("Size", exact=True).select_option("720x1280")
    with page.expect_request("**/api/v1/media/video-tools/preview") as sent:
        page.get_by_role("button", name="Preview frame").click()
    body = sent.value.post_data_json
    assert [scene["text"] for scene in body["scenes"]] == ["A frame before the render."]
    assert (body["width"], body["height"]) == (720, 1280)
    image = page.get_by_role("img", name="Preview frame from the server")
    expect(image).to_be_visible()
    page.wait_for_function("() => document.getElementById('video-frame-image').naturalWidth > 0")
    size = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert size == [720, 1280]
    expect(page.locator("#video-status")).to_have_text("Preview ready")
    assert tab.outside(torch_server.base_url) == []
    assert tab.script_errors == []
