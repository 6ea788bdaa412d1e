"""The Tools view: every job route the server has, as a form; a tool run from the page plays its result there."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.tools.catalog import all_tools
from tests.browser.conftest import Tab
from tests.support.local_server import RunningServer
from tests.video.conftest import make_media

STORAGE = "/api/v1/media/storage"
READY_FOR_PLAYING = 2


@pytest.fixture(scope="module")
def tone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tools-page") / "tone.wav"
    make_media("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000:duration=1", str(path))
    return path


def test_a_tool_from_the_list_runs_in_the_page_and_its_result_plays_there(
    torch_server: RunningServer, tab: Tab, tone: Path
) -> None:
    with tone.open("rb") as file:
        upload = torch_server.client.post(STORAGE, data={"media_type": "audio", "name": "tone"}, files={"file": file})
    source_id = upload.json()["file_id"]
    page = tab.page
    tab.open(f"{torch_server.base_url}/#tools")
    panel = page.locator("#panel-tools")
    offered = set(panel.locator("#tool-choice option").evaluate_all("options => options.map(o => o.value)"))
    assert {tool.path for tool in all_tools()} <= offered
    panel.get_by_label("Tool", exact=True).select_option(label="Convert audio (or a video's sound)")
    expect(panel.get_by_label("Format", exact=True)).to_have_value("mp3")
    expect(panel.locator(f"#tool-files option[value='{source_id}']")).to_be_attached()
    panel.get_by_label("File id *").fill(source_id)
    panel.get_by_label("Format", exact=True).select_option("wav")
    panel.get_by_label("Folder", exact=True).fill("from the page")
    panel.get_by_role("button", name="Run").click()
    page.wait_for_function(f"() => document.querySelector('#tool-output audio')?.readyState >= {READY_FOR_PLAYING}")
    expect(panel.locator("#tool-status")).to_have_text("Ready")
    result_id = page.get_attribute("#tool-result", "data-file-id")
    [made] = torch_server.client.get(STORAGE, params={"folder": "from the page"}).json()["data"]
    assert (made["file_id"], made["kind"], made["content_type"]) == (result_id, "audio", "audio/wav")
    assert tab.outside(torch_server.base_url) == []
    assert tab.script_errors == []


def test_a_refused_tool_request_shows_the_servers_reason(torch_server: RunningServer, tab: Tab) -> None:
    tab.open(f"{torch_server.base_url}/#tools")
    panel = tab.page.locator("#panel-tools")
    panel.get_by_label("Tool", exact=True).select_option(label="Convert audio (or a video's sound)")
    panel.get_by_label("File id *").fill("0" * 32)
    panel.get_by_role("button", name="Run").click()
    expect(panel.locator("#tool-status")).to_contain_text("'file_id'")
    expect(panel.locator("#tool-result")).to_be_hidden()
