"""The file manager: upload with the file picker and by drag and drop, preview, move into a new folder, delete
several at once."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Tab
from tests.conftest import ServerFactory
from tests.video.conftest import make_media

STORAGE = "/api/v1/media/storage"


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("pictures")
    paths = [folder / "holiday-card.png", folder / "test-pattern.png"]
    for path, source in zip(paths, ("testsrc2=s=160x120", "smptebars=s=160x120"), strict=True):
        make_media("-f", "lavfi", "-i", source, "-frames:v", "1", str(path))
    return paths


def drop_file(tab: Tab, path: Path, content_type: str) -> None:
    """Drag `path` onto the drop zone as a person would from a file browser (a DataTransfer holding it)."""
    files = tab.page.evaluate_handle(
        """([name, type, bytes]) => {
            const files = new DataTransfer();
            files.items.add(new File([new Uint8Array(bytes)], name, { type }));
            return files;
        }""",
        [path.name, content_type, list(path.read_bytes())],
    )
    for event in ("dragenter", "dragover", "drop"):
        tab.page.dispatch_event("#drop-zone", event, {"dataTransfer": files})


def test_files_uploaded_by_picker_and_drop_are_listed_moved_and_deleted_together(
    server_factory: ServerFactory, tab: Tab, pictures: list[Path]
) -> None:
    server = server_factory()
    page = tab.page
    tab.open(f"{server.base_url}/files")
    page.set_input_files("#upload-input", str(pictures[0]))
    rows = page.locator("#files-body tr[data-file-id]")
    expect(rows).to_have_count(1)
    drop_file(tab, pictures[1], "image/png")
    expect(rows).to_have_count(2)
    card = page.locator("#files-body tr", has_text="holiday-card.png")
    file_id = card.get_attribute("data-file-id")

    card.get_by_role("button", name="Preview holiday-card.png").click()
    preview = page.locator("#preview-body img")
    page.wait_for_function("() => document.querySelector('#preview-body img')?.naturalWidth === 160")
    expect(preview).to_be_visible()
    page.get_by_role("button", name="Close").click()

    card.get_by_role("button", name="Move holiday-card.png").click()
    page.get_by_label("To folder").fill("trips/2026")
    page.get_by_role("button", name="OK").click()
    expect(card.locator(".folder-cell")).to_have_text("trips/2026")
    page.locator("#folder-list").get_by_role("button", name="trips").click()
    page.locator("#folder-list").get_by_role("button", name="2026").click()
    expect(rows).to_have_count(1)
    expect(page.locator("#folder-path")).to_contain_text("2026")
    moved = server.client.get(f"{STORAGE}?folder=trips/2026").json()["data"]
    assert [item["file_id"] for item in moved] == [file_id]

    page.locator("#folder-list").get_by_role("button", name="All files").click()
    expect(rows).to_have_count(2)
    page.get_by_label("Select all").check()
    page.get_by_role("button", name="Delete selected (2)").click()
    expect(page.locator("#files-body")).to_contain_text("No files here yet.")
    assert server.client.get(STORAGE).json()["total"] == 0
    assert server.client.get(f"{STORAGE}/{file_id}/status").status_code == 404
    assert tab.outside(server.base_url) == []
    assert tab.script_errors == []
