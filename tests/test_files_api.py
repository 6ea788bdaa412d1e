"""Files, folders and live job events through the real HTTP API: listing (two shapes), stats, folders, uploads
into folders, moves, a job's result in its folder, and the Server-Sent Events stream."""

import http.client
import json
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from app.services.child_process import ChildProcess
from tests.conftest import ServerFactory, running, torch_test_settings
from tests.support.local_server import RunningServer
from tests.tools.conftest import job_count, make_media

STORAGE = "/api/v1/media/storage"
FOLDERS = "/api/v1/media/folders"
EVENTS = "/api/v1/media/jobs/events"
CONVERT = "/api/v1/media/audio-tools/convert"
TTS = "/api/v1/media/audio-tools/tts/kokoro"
WAIT_S = 120.0
"""Far longer than anything here takes on a loaded machine: reaching it is a failure, not a measurement."""


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, test_model_dir: Path, test_engine: ChildProcess
) -> Iterator[RunningServer]:
    """A server of this module's own, so that counts and stats see only what these tests stored."""
    settings = torch_test_settings(
        tmp_path_factory.mktemp("files-api"), test_model_dir, max_queued_jobs=20, max_concurrent_audio=1
    )
    started = RunningServer(settings, running(test_engine))
    yield started
    started.stop()


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("files-api-media")
    paths = {"audio": folder / "tone.wav", "image": folder / "still.png", "video": folder / "clip.mp4"}
    make_media("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000:duration=1", str(paths["audio"]))
    make_media("-f", "lavfi", "-i", "testsrc2=s=160x120", "-frames:v", "1", str(paths["image"]))
    make_media(
        *("-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=1", "-c:v", "libx264", "-preset", "ultrafast"),
        *("-pix_fmt", "yuv420p", str(paths["video"])),
    )
    return paths


def upload(server: RunningServer, path: Path, media_type: str, route: str = STORAGE, **fields: str) -> dict[str, Any]:
    with path.open("rb") as file:
        response = server.client.post(route, data={"media_type": media_type, **fields}, files={"file": file})
    assert response.status_code == 201, response.text
    return dict(response.json())


def listing(server: RunningServer, **query: Any) -> dict[str, Any]:
    response = server.client.get(STORAGE, params=query)
    assert response.status_code == 200, response.text
    return dict(response.json())


def refused(response: httpx.Response, status: int, field: str) -> str:
    """The error message of a refusal, checked to have `status` and to name `field`."""
    assert response.status_code == status, response.text
    message = str(response.json()["error"])
    assert f"'{field}'" in message, message
    return message


def raw_request(server: RunningServer, method: str, path: str) -> tuple[int, dict[str, Any]]:
    """A request whose path is sent byte for byte (httpx would resolve '..' segments before sending)."""
    address = urlsplit(server.base_url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=WAIT_S)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_the_list_shows_files_newest_first_with_their_facts_in_both_shapes(
    server: RunningServer, media: dict[str, Path]
) -> None:
    stored = [upload(server, media[kind], kind, name=f"{kind} one", folder="listing") for kind in media]
    page = listing(server, folder="listing")
    assert page["total"] == 3
    assert [item["file_id"] for item in page["data"]] == [item["file_id"] for item in reversed(stored)]
    audio = next(item for item in page["data"] if item["media_type"] == "audio")
    assert (audio["name"], audio["folder"], audio["status"], audio["kind"]) == (
        "audio one",
        "listing",
        "ready",
        "upload",
    )
    assert audio["filename"] == "audio one.wav" and audio["content_type"] == "audio/wav"
    assert audio["size"] == media["audio"].stat().st_size and abs(audio["duration"] - 1.0) < 0.05
    assert audio["created_at"] > 0 and audio["progress"] == 100 and audio["error"] is None
    assert server.client.get(audio["download_url"]).content == media["audio"].read_bytes()
    older = server.client.get(f"{STORAGE}/list", params={"folder": "listing"}).json()
    assert older["total"] == 3 and older["media_type_filter"] is None
    assert [item["media_id"] for item in older["files"]] == [item["file_id"] for item in page["data"]]
    assert [{**item, "media_id": None} for item in older["files"]] == [
        {**item, "media_id": None} for item in page["data"]
    ]
    videos = server.client.get(f"{STORAGE}/list", params={"folder": "listing", "media_type": "video"}).json()
    assert videos["media_type_filter"] == "video" and [item["media_type"] for item in videos["files"]] == ["video"]


def test_filters_narrow_the_list_by_type_folder_kind_status_and_name(
    server: RunningServer, media: dict[str, Path]
) -> None:
    upload(server, media["image"], "image", name="Sunset Cover", folder="filters")
    upload(server, media["audio"], "audio", name="sunrise jingle", folder="filters")
    upload(server, media["audio"], "audio", name="at the top level")

    def names(**query: Any) -> set[str]:
        return {item["name"] for item in listing(server, limit=500, **query)["data"]}

    assert names(folder="filters", media_type="image") == {"Sunset Cover"}
    assert names(folder="filters", q="SUN") == {"Sunset Cover", "sunrise jingle"}
    assert names(folder="filters", q="rise") == {"sunrise jingle"}
    assert "at the top level" in names(folder="/") and not names(folder="/") & {"Sunset Cover"}
    assert names(folder="") == names(folder="/")
    assert names(folder="filters", kind="upload", status="ready") == {"Sunset Cover", "sunrise jingle"}
    assert names(folder="filters", kind="tts") == set() and names(folder="filters", status="failed") == set()


def test_paging_is_bounded_and_walks_the_whole_list(server: RunningServer, media: dict[str, Path]) -> None:
    for number in range(5):
        upload(server, media["image"], "image", name=f"page {number}", folder="paging")
    pages = [listing(server, folder="paging", limit=2, offset=offset) for offset in (0, 2, 4, 6)]
    assert [page["total"] for page in pages] == [5, 5, 5, 5]
    assert [len(page["data"]) for page in pages] == [2, 2, 1, 0]
    walked = [item["name"] for page in pages for item in page["data"]]
    assert walked == [f"page {number}" for number in reversed(range(5))]
    assert len(listing(server)["data"]) == min(50, listing(server, limit=500)["total"]), "50 by default"
    for query, field in (
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
        ({"media_type": "text"}, "media_type"),
        ({"status": "lost"}, "status"),
        ({"folder": "../x"}, "folder"),
    ):
        for route in (STORAGE, f"{STORAGE}/list"):
            refused(server.client.get(route, params=query), 422 if field != "folder" else 400, field)


def test_stats_count_files_and_bytes_by_media_type_and_by_folder(server: RunningServer, media: dict[str, Path]) -> None:
    upload(server, media["video"], "video", folder="stats/clips")
    server.client.post(FOLDERS, json={"folder_name": "stats/empty"})
    stats = server.client.get(f"{STORAGE}/stats").json()
    files = [item for item in listing(server, limit=500, status="ready")["data"]]
    assert (stats["files"], stats["bytes"]) == (len(files), sum(item["size"] for item in files))
    by_type = {entry["media_type"]: (entry["files"], entry["bytes"]) for entry in stats["by_media_type"]}
    for kind in ("audio", "image", "video"):
        of_kind = [item["size"] for item in files if item["media_type"] == kind]
        assert by_type[kind] == (len(of_kind), sum(of_kind))
    by_folder = {entry["folder"]: (entry["files"], entry["bytes"]) for entry in stats["by_folder"]}
    assert by_folder["stats/clips"] == (1, media["video"].stat().st_size)
    assert by_folder["stats/empty"] == (0, 0) and by_folder["stats"] == (0, 0)
    top = [item["size"] for item in files if item["folder"] is None]
    assert by_folder[None] == (len(top), sum(top))
    assert 0 < stats["disk"]["free_bytes"] <= stats["disk"]["total_bytes"]
    assert set(stats["jobs"]) <= {"queued", "processing", "ready", "failed"}


def test_folders_nest_and_list_their_children(server: RunningServer) -> None:
    made = server.client.post(FOLDERS, json={"folder_name": "projects"})
    assert made.status_code == 201 and made.json()["created"] is True
    again = server.client.post(FOLDERS, data={"folder_name": "projects"})
    assert again.status_code == 200 and again.json()["created"] is False
    nested = server.client.post(FOLDERS, data={"folder_name": "2024", "parent_folder": "projects"}).json()
    assert (nested["path"], nested["name"], nested["parent_folder"]) == ("projects/2024", "2024", "projects")
    deep = server.client.post(FOLDERS, json={"folder_name": "q1/week 1", "parent_folder": "projects/2024"})
    assert deep.status_code == 201 and deep.json()["path"] == "projects/2024/q1/week 1"
    top = {f["path"]: f for f in server.client.get(FOLDERS).json()["folders"]}
    assert top["projects"]["folder_count"] == 1 and top["projects"]["parent_folder"] is None
    children = server.client.get(FOLDERS, params={"parent_folder": "projects"}).json()
    assert [f["path"] for f in children["folders"]] == ["projects/2024"] and children["parent_folder"] == "projects"
    below = server.client.get(FOLDERS, params={"parent_folder": "projects", "recursive": "true"}).json()
    assert [f["path"] for f in below["folders"]] == ["projects/2024", "projects/2024/q1", "projects/2024/q1/week 1"]
    contents = server.client.get(f"{FOLDERS}/projects/2024/q1/contents").json()
    assert contents["folder"]["path"] == "projects/2024/q1" and contents["files"] == [] and contents["total"] == 0
    assert [f["name"] for f in contents["folders"]] == ["week 1"]
    refused(server.client.get(FOLDERS, params={"parent_folder": "nowhere"}), 404, "parent_folder")
    refused(server.client.get(f"{FOLDERS}/nowhere/contents"), 404, "path")
    refused(server.client.post(FOLDERS, json={"parent_folder": "projects"}), 422, "folder_name")
    refused(server.client.post(FOLDERS, json={"folder_name": "x", "colour": "red"}), 400, "colour")


TRAVERSALS = ["../x", "..", "a/../../b", "%2e%2e", "%2e%2e/x", "/etc", "a//b", "a\\b", "a\x00b", "a\u202eb"]


def test_traversal_attempts_and_bad_folder_names_are_refused_naming_the_field(
    server: RunningServer, media: dict[str, Path]
) -> None:
    files_before = listing(server)["total"]
    folders_before = server.client.get(FOLDERS, params={"recursive": "true"}).json()["folders"]
    for bad in TRAVERSALS:
        refused(server.client.post(FOLDERS, json={"folder_name": bad}), 400, "folder_name")
        refused(server.client.post(FOLDERS, json={"folder_name": "ok", "parent_folder": bad}), 400, "parent_folder")
        with media["audio"].open("rb") as file:
            sent = server.client.post(STORAGE, data={"media_type": "audio", "folder": bad}, files={"file": file})
        refused(sent, 400, "folder")
    for path in ("%2e%2e", "%2e%2e/x", "%252e%252e", "a/%2e%2e/%2e%2e"):
        refused(server.client.get(f"{FOLDERS}/{path}/contents"), 400, "path")
        refused(server.client.delete(f"{FOLDERS}/{path}", params={"recursive": "true"}), 400, "path")
        with media["audio"].open("rb") as file:
            sent = server.client.post(f"{STORAGE}/{path}", data={"media_type": "audio"}, files={"file": file})
        refused(sent, 400, "folder_path")
    for path in (f"{FOLDERS}/../x/contents", f"{FOLDERS}/a/../../x/contents"):
        status, body = raw_request(server, "GET", path)
        assert status == 400 and "'path'" in body["error"], body
    status, body = raw_request(server, "DELETE", f"{FOLDERS}/../../etc?recursive=true")
    assert status == 400 and "'path'" in body["error"], body
    assert listing(server)["total"] == files_before
    assert server.client.get(FOLDERS, params={"recursive": "true"}).json()["folders"] == folders_before


def test_uploads_land_in_folders_by_field_and_by_path(server: RunningServer, media: dict[str, Path]) -> None:
    by_field = upload(server, media["image"], "image", folder="inbox/by field")
    by_path = upload(server, media["image"], "image", route=f"{STORAGE}/inbox/by%20path")
    assert (by_field["folder"], by_path["folder"]) == ("inbox/by field", "inbox/by path")
    same = upload(server, media["image"], "image", route=f"{STORAGE}/inbox/agreed", folder="inbox/agreed")
    assert same["folder"] == "inbox/agreed"
    contents = server.client.get(f"{FOLDERS}/inbox/by path/contents").json()
    assert [item["file_id"] for item in contents["files"]] == [by_path["file_id"]]
    inbox = server.client.get(f"{FOLDERS}/inbox/contents").json()
    assert [f["name"] for f in inbox["folders"]] == ["agreed", "by field", "by path"]
    with media["image"].open("rb") as file:
        clash = server.client.post(
            f"{STORAGE}/inbox/one", data={"media_type": "image", "folder": "inbox/two"}, files={"file": file}
        )
    refused(clash, 400, "folder")


def test_a_non_empty_folder_is_deleted_only_when_asked_recursively(
    server: RunningServer, media: dict[str, Path]
) -> None:
    inside = upload(server, media["audio"], "audio", folder="trash/inner")
    server.client.post(FOLDERS, json={"folder_name": "trash/inner/empty"})
    message = refused(server.client.delete(f"{FOLDERS}/trash"), 409, "trash")
    assert "recursive=true" in message
    assert server.client.get(f"{STORAGE}/{inside['file_id']}").status_code == 200, "nothing was deleted"
    gone = server.client.delete(f"{FOLDERS}/trash", params={"recursive": "true"})
    assert gone.status_code == 200, gone.text
    assert gone.json() == {
        "folder": "trash",
        "deleted": True,
        "files_deleted": 1,
        "jobs_deleted": 0,
        "folders_deleted": 3,
    }
    assert server.client.get(f"{STORAGE}/{inside['file_id']}").status_code == 404
    refused(server.client.get(f"{FOLDERS}/trash/inner/contents"), 404, "path")
    server.client.post(FOLDERS, json={"folder_name": "vacant"})
    assert server.client.delete(f"{FOLDERS}/vacant").json()["folders_deleted"] == 1
    refused(server.client.delete(f"{FOLDERS}/vacant"), 404, "path")


def test_a_moved_or_renamed_file_keeps_its_id_and_its_bytes(server: RunningServer, media: dict[str, Path]) -> None:
    stored = upload(server, media["audio"], "audio", name="draft")
    file_id = stored["file_id"]
    moved = server.client.patch(f"{STORAGE}/{file_id}", json={"folder": "moved/here"})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["file_id"], moved.json()["folder"], moved.json()["name"]) == (file_id, "moved/here", "draft")
    renamed = server.client.patch(f"{STORAGE}/{file_id}", data={"name": "final take"}).json()
    assert (renamed["name"], renamed["folder"], renamed["download_url"]) == (
        "final take",
        "moved/here",
        moved.json()["download_url"],
    )
    download = server.client.get(f"{STORAGE}/{file_id}")
    assert download.content == media["audio"].read_bytes()
    assert download.headers["content-disposition"].endswith("final%20take.wav")
    assert [item["file_id"] for item in listing(server, folder="moved/here")["data"]] == [file_id]
    back = server.client.patch(f"{STORAGE}/{file_id}", json={"folder": None}).json()
    assert back["folder"] is None and listing(server, folder="moved/here")["total"] == 0
    refused(server.client.patch(f"{STORAGE}/{file_id}", json={"folder": "../x"}), 400, "folder")
    refused(server.client.patch(f"{STORAGE}/{file_id}", json={"name": "a/b"}), 400, "name")
    refused(server.client.patch(f"{STORAGE}/{file_id}", json={"size": "1"}), 400, "size")
    assert server.client.patch(f"{STORAGE}/{file_id}", json={}).status_code == 400
    assert server.client.patch(f"{STORAGE}/{'0' * 32}", json={"folder": "x"}).status_code == 404
    assert server.client.get(f"{STORAGE}/{file_id}/info").json()["name"] == "final take"


def convert(server: RunningServer, source_id: str, **fields: str) -> str:
    response = server.client.post(CONVERT, data={"file_id": source_id, "format": "mp3", "dedup": "false", **fields})
    assert response.status_code == 202, response.text
    return str(response.json()["file_id"])


def test_a_jobs_result_lands_in_the_folder_it_was_given(server: RunningServer, media: dict[str, Path]) -> None:
    source = upload(server, media["audio"], "audio")["file_id"]
    job_id = convert(server, source, folder="results/mp3", name="converted")
    assert server.wait_for(job_id, WAIT_S)["status"] == "ready"
    [item] = listing(server, folder="results/mp3")["data"]
    assert (item["file_id"], item["kind"], item["name"], item["media_type"]) == (job_id, "audio", "converted", "audio")
    spoken = server.client.post(TTS, data={"text": "Filed away.", "folder": "results/speech"})
    assert spoken.status_code == 202, spoken.text
    assert server.wait_for(spoken.json()["file_id"], WAIT_S)["status"] == "ready"
    [speech] = listing(server, folder="results/speech")["data"]
    assert (speech["file_id"], speech["kind"]) == (spoken.json()["file_id"], "tts")
    jobs_before = job_count(server)
    for bad in ("../x", "%2e%2e", "/abs"):
        refused(server.client.post(CONVERT, data={"file_id": source, "folder": bad}), 400, "folder")
        refused(server.client.post(TTS, data={"text": "Nowhere.", "folder": bad}), 400, "folder")
    assert job_count(server) == jobs_before


def test_a_queued_job_is_listed_with_its_status_and_lands_where_it_was_moved(
    server: RunningServer, media: dict[str, Path]
) -> None:
    source = upload(server, media["audio"], "audio")["file_id"]
    with server.hold_slot("audio"):
        job_id = convert(server, source, folder="waiting/first")
        [item] = listing(server, folder="waiting/first")["data"]
        assert (item["file_id"], item["status"], item["kind"]) == (job_id, "queued", "audio")
        assert item["media_type"] is None and item["size"] is None and item["download_url"] is None
        assert listing(server, folder="waiting/first", media_type="audio")["total"] == 0
        moved = server.client.patch(f"{STORAGE}/{job_id}", json={"folder": "waiting/second"}).json()
        assert (moved["file_id"], moved["folder"], moved["status"]) == (job_id, "waiting/second", "queued")
        message = refused(server.client.delete(f"{FOLDERS}/waiting", params={"recursive": "true"}), 409, "waiting")
        assert job_id in message
    assert server.wait_for(job_id, WAIT_S)["status"] == "ready"
    [landed] = listing(server, folder="waiting/second")["data"]
    assert (landed["file_id"], landed["status"], landed["media_type"]) == (job_id, "ready", "audio")


class EventStream:
    """A client of the event stream reading in a thread: its events by name with their data, until `until`
    says stop (then it goes away) or the server ends the stream (`ended`)."""

    def __init__(self, server: RunningServer, until: Callable[[str, dict[str, Any]], bool], **headers: str) -> None:
        self.events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.connected = threading.Event()
        self.ended = threading.Event()
        self.failure: BaseException | None = None
        self._client = httpx.Client(base_url=server.base_url, timeout=WAIT_S, headers=headers)
        self._until = until
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        assert self.connected.wait(WAIT_S), f"the stream did not start: {self.failure!r}"

    def _read(self) -> None:
        try:
            with self._client.stream("GET", EVENTS) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                if self._dispatch(response.iter_lines()):
                    return
            self.ended.set()
        except BaseException as exc:
            self.failure = exc
        finally:
            self._client.close()

    def _dispatch(self, lines: Iterator[str]) -> bool:
        """True when `until` stopped the reading; False when the stream ended."""
        name = ""
        for line in lines:
            if line == ": connected":
                self.connected.set()
            elif line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = json.loads(line.removeprefix("data: "))
                self.events.put((name, data))
                if self._until(name, data):
                    return True
        return False

    def of(self, file_id: str) -> list[tuple[str, dict[str, Any]]]:
        """Every event read so far about one job, in order."""
        self.thread.join(WAIT_S)
        assert not self.thread.is_alive() and self.failure is None, self.failure
        return [(name, data) for name, data in list(self.events.queue) if data["file_id"] == file_id]


def ended(file_id: list[str]) -> Callable[[str, dict[str, Any]], bool]:
    """Stop reading at the end of the job whose id is put in `file_id` once known."""
    return lambda name, data: bool(file_id) and data["file_id"] == file_id[0] and name in ("ready", "failed")


def test_a_jobs_events_arrive_in_order_from_queued_to_ready(server: RunningServer, media: dict[str, Path]) -> None:
    source = upload(server, media["audio"], "audio")["file_id"]
    watched: list[str] = []
    stream = EventStream(server, ended(watched))
    watched.append(convert(server, source))
    events = stream.of(watched[0])
    names = [name for name, _ in events]
    assert names[0] == "queued" and names[-1] == "ready" and set(names[1:-1]) == {"progress"}, names
    statuses = [data["status"] for _, data in events]
    assert statuses[0] == "queued" and statuses[-1] == "ready" and set(statuses[1:-1]) == {"processing"}
    progress = [data["progress"] for _, data in events]
    assert progress == sorted(progress) and progress[-1] == 100
    assert events[-1][1] == server.client.get(f"{STORAGE}/{watched[0]}/status").json()


def test_a_job_that_fails_sends_failed_with_its_error(server: RunningServer, media: dict[str, Path]) -> None:
    source = upload(server, media["audio"], "audio")["file_id"]
    watched: list[str] = []
    stream = EventStream(server, ended(watched))
    with server.hold_slot("audio"):
        watched.append(convert(server, source))
        assert server.client.delete(f"{STORAGE}/{source}").status_code == 200  # its input goes before it runs
    events = stream.of(watched[0])
    assert events[0][0] == "queued" and events[-1][0] == "failed"
    assert events[-1][1]["status"] == "failed" and "no longer available" in events[-1][1]["error"]


def test_the_stream_ends_cleanly_when_the_client_goes_away(server_factory) -> None:
    server = server_factory()  # its own: another test's stream ending meanwhile would change the count
    bus = server.services.runner.events
    before = bus.subscribers
    address = urlsplit(server.base_url)
    with socket.create_connection((address.hostname or "", address.port or 80), timeout=WAIT_S) as client:
        client.sendall(f"GET {EVENTS} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
        received = b""
        while b": connected" not in received:
            chunk = client.recv(4096)
            assert chunk, "the server closed the stream"
            received += chunk
        assert received.startswith(b"HTTP/1.1 200") and bus.subscribers == before + 1
    deadline = time.monotonic() + WAIT_S
    while bus.subscribers > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert bus.subscribers == before, "the stream of a client that went away was not ended"
    assert server.client.get("/health").status_code == 200


def test_the_stream_needs_the_api_key_and_a_server_with_one_open_still_stops(server_factory: ServerFactory) -> None:
    guarded = server_factory(api_key="sesame")
    denied = guarded.client.get(EVENTS)
    assert denied.status_code == 401 and "API key" in denied.json()["error"]
    stream = EventStream(guarded, lambda name, data: False, **{"X-API-Key": "sesame"})
    guarded.server.config.timeout_graceful_shutdown = None  # as `python server.py` runs: uvicorn would wait forever
    guarded.stop()
    assert not guarded.thread.is_alive(), "the server did not stop with a stream open"
    assert stream.ended.wait(WAIT_S) and stream.failure is None, stream.failure


def test_a_speech_job_reports_progress_chunk_by_chunk_not_zero_then_a_hundred(server: RunningServer) -> None:
    text = " ".join(f"Sentence number {n} tells the listener something new about the weather today." for n in range(6))
    watched: list[str] = []
    stream = EventStream(server, ended(watched))
    answer = server.client.post("/api/v1/media/audio-tools/tts/kokoro", data={"text": text, "dedup": "false"})
    watched.append(answer.json()["file_id"])
    progress = [data["progress"] for name, data in stream.of(watched[0]) if name == "progress"]
    steps = sorted(set(progress) - {0, 100})
    assert len(steps) >= 3, f"a step per chunk synthesized: {progress}"
    assert progress == sorted(progress)
