"""Files in a real S3 bucket (SeaweedFS) shared by two nodes, and downloads answered from it by a real uvicorn."""

import asyncio
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from starlette.responses import Response

from app.cluster.bucket import S3Storage
from app.config import Settings
from app.error_handlers import install_error_handlers
from app.errors import NotFound, ServiceUnavailable
from app.routes.bucket_download import BucketFileResponse, BucketFiles, requested_range
from app.services.storage import new_file_id
from tests.support.servers import S3Server, free_port

BUCKET = "media"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = S3Server(tmp_path_factory.mktemp("s3")).start()
    server.make_bucket(BUCKET)
    yield server
    server.stop()


def node_settings(root: Path, server: S3Server, **overrides: Any) -> Settings:
    """The settings of one node: its own storage path, the shared bucket."""
    values = {key.lower(): value for key, value in server.environment(BUCKET).items()}
    return Settings(storage_path=root, **{**values, **overrides})


def node(root: Path, server: S3Server, **overrides: Any) -> S3Storage:
    return S3Storage(node_settings(root, server, **overrides))


def commit_bytes(storage: S3Storage, data: bytes, ext: str = "wav") -> str:
    """Write `data` in a job's work dir and commit it, as a job does; its stored filename."""
    file_id = new_file_id()
    produced = storage.work_dir(file_id) / f"out.{ext}"
    produced.write_bytes(data)
    return storage.commit(file_id, produced, ext)


def file_id_of(filename: str) -> str:
    return filename.split(".", 1)[0]


def test_a_file_committed_on_one_node_is_read_with_the_same_bytes_on_another(s3: S3Server, tmp_path: Path) -> None:
    maker, reader = node(tmp_path / "a", s3), node(tmp_path / "b", s3)
    data = os.urandom(300_000)
    filename = commit_bytes(maker, data)
    assert filename.endswith(".wav") and len(file_id_of(filename)) == 32
    assert not (maker.scratch_root() / file_id_of(filename)).exists(), "the work dir is removed on commit"
    assert maker.path(filename).parent == tmp_path.resolve() / "a" / "cache", "its maker serves its own copy"
    copy = reader.path(filename)
    assert copy.read_bytes() == data
    assert reader.path(filename) == copy, "a second read uses the cached copy"


def test_a_stored_file_has_its_size_in_bytes_and_none_once_deleted(s3: S3Server, tmp_path: Path) -> None:
    storage = node(tmp_path, s3)
    filename = commit_bytes(storage, b"x" * 12_345)
    assert storage.size(filename) == 12_345
    storage.delete(file_id_of(filename), filename)
    assert storage.size(filename) == 0


def test_a_file_deleted_on_one_node_is_gone_on_the_other(s3: S3Server, tmp_path: Path) -> None:
    maker, reader = node(tmp_path / "a", s3), node(tmp_path / "b", s3)
    filename = commit_bytes(maker, b"gone soon")
    cached_copy = reader.path(filename)
    maker.delete(file_id_of(filename), filename)
    for storage in (maker, reader):
        with pytest.raises(NotFound, match=r"^The file is no longer in storage\.$"):
            storage.path(filename)
        assert storage.size(filename) == 0
    assert not cached_copy.exists(), "the other node drops its stale copy when it learns the file is gone"


def test_a_file_that_was_never_stored_is_not_found(s3: S3Server, tmp_path: Path) -> None:
    storage = node(tmp_path, s3)
    with pytest.raises(NotFound, match=r"^The file is no longer in storage\.$"):
        storage.path(f"{new_file_id()}.mp4")
    with pytest.raises(NotFound):
        storage.open_range(f"{new_file_id()}.mp4", 0, 10)
    assert storage.size(f"{new_file_id()}.mp4") == 0


@pytest.mark.parametrize(
    "name",
    ["../etc/passwd", "files/../../x.wav", "%2e%2e%2fsecret", "abc.wav", f"{'a' * 32}.wav/../x", f"{'a' * 32}", ""],
)
def test_names_that_try_to_leave_the_bucket_folder_are_simply_not_found(
    s3: S3Server, tmp_path: Path, name: str
) -> None:
    storage = node(tmp_path, s3)
    with pytest.raises(NotFound):
        storage.path(name)
    assert storage.size(name) == 0
    storage.delete(new_file_id(), name)


def test_a_node_keeps_its_cache_under_the_bound_by_dropping_the_least_recently_used(
    s3: S3Server, tmp_path: Path
) -> None:
    maker = node(tmp_path / "a", s3)
    reader = node(tmp_path / "b", s3, s3_cache_max_mb=1)
    filenames = [commit_bytes(maker, os.urandom(300_000)) for _ in range(5)]
    for filename in filenames[:3]:
        reader.path(filename)
        time.sleep(0.01)
    reader.path(filenames[0])  # used again: now the most recent of the three
    time.sleep(0.01)
    reader.path(filenames[3])
    cached = {path.name for path in (tmp_path / "b" / "cache").iterdir()}
    assert reader.cache.size() <= MIB
    assert filenames[0] in cached and filenames[3] in cached
    assert filenames[1] not in cached, "the least recently used copy went first"
    assert reader.path(filenames[1]).stat().st_size == 300_000, "an evicted file is fetched again"


def test_a_file_bigger_than_the_whole_cache_is_still_served(s3: S3Server, tmp_path: Path) -> None:
    maker, reader = node(tmp_path / "a", s3, s3_cache_max_mb=0), node(tmp_path / "b", s3, s3_cache_max_mb=0)
    data = os.urandom(50_000)
    filename = commit_bytes(maker, data)
    assert reader.path(filename).read_bytes() == data


def test_a_big_file_round_trips_through_a_multipart_upload(s3: S3Server, tmp_path: Path) -> None:
    maker, reader = node(tmp_path / "a", s3), node(tmp_path / "b", s3)
    data = os.urandom(20 * MIB)
    filename = commit_bytes(maker, data, ext="mp4")
    size, etag, _ = reader.head(filename)
    assert size == 20 * MIB
    assert "-" in etag, f"a multipart upload's ETag names its parts; got {etag}"
    assert reader.path(filename).read_bytes() == data


def test_a_healthy_bucket_passes_the_check(s3: S3Server, tmp_path: Path) -> None:
    node(tmp_path, s3).check()


def test_a_bucket_nobody_answers_for_is_a_503_with_a_sentence(s3: S3Server, tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    storage = node(tmp_path, s3, s3_endpoint_url=endpoint)
    expected = f"The file storage (bucket 'media' at {endpoint}) cannot be reached: nothing answers at that address"
    produced = storage.work_dir(new_file_id()) / "out.wav"
    produced.write_bytes(b"data")
    calls = [
        storage.check,
        lambda: storage.path(f"{new_file_id()}.wav"),
        lambda: storage.size(f"{new_file_id()}.wav"),
        lambda: storage.commit(produced.parent.name, produced, "wav"),
    ]
    for call in calls:
        with pytest.raises(ServiceUnavailable) as caught:
            call()
        assert caught.value.message.startswith(expected)
        assert "botocore" not in caught.value.message and "Traceback" not in caught.value.message
    assert produced.exists(), "a failed upload keeps the produced file"


def test_a_bucket_server_that_stopped_is_a_503_with_a_sentence(tmp_path: Path) -> None:
    server = S3Server(tmp_path / "s3").start()
    server.make_bucket(BUCKET)
    storage = node(tmp_path / "node", server)
    filename = commit_bytes(storage, b"kept while it ran")
    server.stop()
    with pytest.raises(ServiceUnavailable, match=r"^The file storage \(bucket 'media' at http://127\.0\.0\.1:\d+\)"):
        storage.size(filename)
    with pytest.raises(ServiceUnavailable, match="cannot be reached"):
        storage.check()


def test_a_missing_bucket_and_wrong_keys_say_what_to_correct(s3: S3Server, tmp_path: Path) -> None:
    with pytest.raises(ServiceUnavailable, match="the bucket does not exist; create it or correct S3_BUCKET"):
        node(tmp_path / "a", s3, s3_bucket="no-such-bucket").check()
    with pytest.raises(ServiceUnavailable, match="refused the access key"):
        node(tmp_path / "b", s3, s3_secret_access_key="wrong").size(f"{new_file_id()}.wav")


def test_a_range_header_names_one_byte_range_or_none() -> None:
    assert requested_range("bytes=0-9", 100) == (0, 9)
    assert requested_range("bytes=90-", 100) == (90, 99)
    assert requested_range("bytes=-10", 100) == (90, 99)
    assert requested_range("bytes=-500", 100) == (0, 99)
    assert requested_range("bytes=50-5000", 100) == (50, 99)
    assert requested_range(None, 100) is None
    assert requested_range("bytes=0-1,5-6", 100) is None, "several ranges: the whole file"
    assert requested_range("items=0-1", 100) is None
    assert requested_range("bytes=9-1", 100) is None


class Downloads:
    """A tiny app whose routes answer a stored file with `BucketFileResponse`, on a real uvicorn on loopback."""

    def __init__(self, storages: dict[str, S3Storage]) -> None:
        app = FastAPI()
        install_error_handlers(app)

        @app.api_route("/{mode}/{filename}", methods=["GET", "HEAD"])
        async def download(mode: str, filename: str, request: Request) -> Response:
            name = request.query_params.get("name", "clip.mp4")
            return BucketFileResponse(storages[mode], filename, "video/mp4", name, headers={"X-File-Id": filename})

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off"))
        self.loop = asyncio.new_event_loop()
        serve = self.server.serve(sockets=[self.sock])
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(serve,), daemon=True)
        self.thread.start()
        while not self.server.started:
            assert self.thread.is_alive(), "the download server did not start"
            time.sleep(0.02)
        self.client = httpx.Client(base_url=self.base_url, timeout=60)

    def stop(self) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()
        self.loop.close()


@pytest.fixture(scope="module")
def downloads(s3: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Downloads]:
    root = tmp_path_factory.mktemp("download-node")
    dead_end = f"http://127.0.0.1:{free_port()}"
    server = Downloads(
        {
            "stream": node(root / "stream", s3),
            "presigned": node(root / "presigned", s3, s3_presigned_downloads=True),
            "unreachable": node(root / "unreachable", s3, s3_endpoint_url=dead_end),
        }
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def clip(s3: S3Server, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, bytes]:
    """A committed file of 1 MiB and a bit: several chunks, a size that no chunk divides."""
    data = os.urandom(MIB + 12_345)
    return commit_bytes(node(tmp_path_factory.mktemp("maker"), s3), data, ext="mp4"), data


def test_a_download_streams_the_whole_file_with_the_headers_of_a_local_one(
    downloads: Downloads, clip: tuple[str, bytes]
) -> None:
    filename, data = clip
    answer = downloads.client.get(f"/stream/{filename}")
    assert answer.status_code == 200
    assert answer.content == data
    headers = answer.headers
    assert headers["content-length"] == str(len(data))
    assert headers["accept-ranges"] == "bytes"
    assert headers["content-type"] == "video/mp4"
    assert headers["content-disposition"] == 'attachment; filename="clip.mp4"'
    assert headers["etag"].startswith('"') and headers["last-modified"].endswith("GMT")
    assert headers["x-file-id"] == filename, "the caller's headers are kept"


def test_a_name_with_spaces_and_accents_is_encoded_as_a_local_download_would_be(
    downloads: Downloads, clip: tuple[str, bytes]
) -> None:
    answer = downloads.client.head(f"/stream/{clip[0]}", params={"name": "été 2024.mp4"})
    assert answer.headers["content-disposition"] == "attachment; filename*=utf-8''%C3%A9t%C3%A9%202024.mp4"


def test_a_player_asking_for_a_byte_range_gets_206_with_those_bytes(
    downloads: Downloads, clip: tuple[str, bytes]
) -> None:
    filename, data = clip
    answer = downloads.client.get(f"/stream/{filename}", headers={"Range": "bytes=1000-1999"})
    assert answer.status_code == 206
    assert answer.content == data[1000:2000]
    assert answer.headers["content-range"] == f"bytes 1000-1999/{len(data)}"
    assert answer.headers["content-length"] == "1000"
    opened = downloads.client.get(f"/stream/{filename}", headers={"Range": f"bytes={len(data) - 5}-"})
    assert (opened.status_code, opened.content) == (206, data[-5:])


def test_a_suffix_range_gives_the_last_bytes(downloads: Downloads, clip: tuple[str, bytes]) -> None:
    filename, data = clip
    answer = downloads.client.get(f"/stream/{filename}", headers={"Range": "bytes=-100"})
    assert answer.status_code == 206
    assert answer.content == data[-100:]
    assert answer.headers["content-range"] == f"bytes {len(data) - 100}-{len(data) - 1}/{len(data)}"


def test_a_range_past_the_end_is_416_with_the_size(downloads: Downloads, clip: tuple[str, bytes]) -> None:
    filename, data = clip
    answer = downloads.client.get(f"/stream/{filename}", headers={"Range": f"bytes={len(data)}-"})
    assert answer.status_code == 416
    assert answer.headers["content-range"] == f"bytes */{len(data)}"


def test_an_if_range_for_another_version_gets_the_whole_file(downloads: Downloads, clip: tuple[str, bytes]) -> None:
    filename, data = clip
    stale = {"Range": "bytes=0-9", "If-Range": '"another-version"'}
    assert downloads.client.get(f"/stream/{filename}", headers=stale).status_code == 200
    etag = downloads.client.head(f"/stream/{filename}").headers["etag"]
    fresh = downloads.client.get(f"/stream/{filename}", headers={"Range": "bytes=0-9", "If-Range": etag})
    assert (fresh.status_code, fresh.content) == (206, data[:10])


def test_a_head_request_has_the_length_and_no_body(downloads: Downloads, clip: tuple[str, bytes]) -> None:
    filename, data = clip
    answer = downloads.client.head(f"/stream/{filename}")
    assert answer.status_code == 200
    assert answer.headers["content-length"] == str(len(data))
    assert answer.headers["content-type"] == "video/mp4"
    assert answer.content == b""


def test_with_presigned_downloads_the_client_is_sent_to_the_bucket_and_gets_the_file_by_name(
    downloads: Downloads, clip: tuple[str, bytes]
) -> None:
    filename, data = clip
    answer = downloads.client.get(f"/presigned/{filename}", params={"name": "holiday.mp4"}, follow_redirects=True)
    assert [step.status_code for step in answer.history] == [307]
    assert answer.history[0].headers["x-file-id"] == filename
    assert answer.status_code == 200
    assert answer.content == data
    assert answer.headers["content-disposition"] == 'attachment; filename="holiday.mp4"'
    assert answer.headers["content-type"] == "video/mp4"


def test_a_download_of_a_file_gone_from_the_bucket_is_a_404_with_a_sentence(downloads: Downloads) -> None:
    answer = downloads.client.get(f"/stream/{new_file_id()}.mp4")
    assert answer.status_code == 404
    assert answer.json() == {"error": "The file is no longer in storage."}


def test_a_download_while_the_bucket_cannot_be_reached_is_a_503_with_a_sentence(
    downloads: Downloads, clip: tuple[str, bytes]
) -> None:
    answer = downloads.client.get(f"/unreachable/{clip[0]}")
    assert answer.status_code == 503
    assert answer.json()["error"].startswith("The file storage (bucket 'media' at http://127.0.0.1:")


def test_the_bucket_storage_is_what_downloads_recognise_as_a_bucket(s3: S3Server, tmp_path: Path) -> None:
    assert isinstance(node(tmp_path, s3), BucketFiles)
