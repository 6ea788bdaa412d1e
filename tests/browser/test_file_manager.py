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


@pytest.fixture(scope="module")
def jingle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("jingle") / "jingle.wav"
    make_media("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000:duration=1", str(path))
    return path


def test_files_are_filtered_by_type_played_renamed_and_their_id_copied(
    server_factory: ServerFactory, tab: Tab, pictures: list[Path], jingle: Path
) -> None:
    server = server_factory()
    for path, kind in ((pictures[0], "image"), (jingle, "audio")):
        with path.open("rb") as file:
            sent = server.client.post(STORAGE, data={"media_type": kind, "name": path.name}, files={"file": file})
            assert sent.status_code == 201, sent.text
    page = tab.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    tab.open(f"{server.base_url}/files")
    rows = page.locator("#files-body tr[data-file-id]")
    expect(rows).to_have_count(2)
    page.get_by_label("Type").select_option("audio")
    expect(rows).to_have_count(1)
    row = rows.first
    file_id = row.get_attribute("data-file-id")

    row.get_by_role("button", name="Preview jingle.wav").click()
    page.wait_for_function("() => document.querySelector('#preview-body audio')?.readyState >= 2")
    page.get_by_role("button", name="Close").click()

    row.get_by_role("button", name="Rename jingle.wav").click()
    page.get_by_label("New name").fill("theme tune")
    page.get_by_role("button", name="OK").click()
    expect(rows.first.get_by_role("button", name="Preview theme tune")).to_be_visible()
    assert server.client.get(f"{STORAGE}/{file_id}/info").json()["name"] == "theme tune"

    rows.first.get_by_role("button", name="Copy id theme tune").click()
    expect(page.locator("#toast")).to_contain_text(f"File id copied: {file_id}")
    assert page.evaluate("() => navigator.clipboard.readText()") == file_id
    page.get_by_label("Type").select_option("image")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("holiday-card.png")
    assert tab.outside(server.base_url) == []
    assert tab.script_errors == []
