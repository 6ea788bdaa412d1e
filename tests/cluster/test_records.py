"""Job, file and folder records behave the same in SQLite (one server) and in Redis (the cluster): one contract
suite runs on both; the Redis-only stories cover two nodes, races and a restart of Redis."""

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from app.cluster.records import KEY_PREFIX, redis_records
from app.services.database import Database
from app.services.files import Files, ItemFilter, StoredFile
from app.services.folders import FolderConflict
from app.services.jobs import Job, Jobs, JobStatus, SqliteJobs
from app.services.sqlite_files import SqliteFileRecords
from app.services.storage import LocalStorage
from tests.support.servers import RedisServer, redis_binary

QUEUED, PROCESSING, READY, FAILED = JobStatus.QUEUED, JobStatus.PROCESSING, JobStatus.READY, JobStatus.FAILED


def uid(number: int) -> str:
    return f"{number:032x}"


@dataclass
class Backend:
    """The records of one node, and a way to open those of another node on the same store."""

    name: str
    jobs: Jobs
    files: Files
    another_node: Callable[[], tuple[Jobs, Files]]


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    if redis_binary() is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; .ci/run installs it)")
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def clients(redis_server: RedisServer) -> Iterator[Callable[[], redis.Redis]]:
    """Clients of the module's Redis, its data flushed first; each closed after the test."""
    opened: list[redis.Redis] = []

    def connect() -> redis.Redis:
        client = redis.Redis.from_url(redis_server.url, decode_responses=True)
        opened.append(client)
        return client

    connect().flushdb()
    yield connect
    for client in opened:
        client.close()


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    storage = LocalStorage(tmp_path / "bytes")
    if request.param == "sqlite":
        database = Database(tmp_path / "jobs.sqlite3", storage.size)
        yield Backend(
            "sqlite",
            SqliteJobs(database),
            Files(SqliteFileRecords(database), storage),
            lambda: (SqliteJobs(database), Files(SqliteFileRecords(database), storage)),
        )
        database.close()
        return
    connect: Callable[[], redis.Redis] = request.getfixturevalue("clients")
    jobs, files = redis_records(connect(), storage)
    yield Backend("redis", jobs, files, lambda: redis_records(connect(), storage))


def store(
    files: Files,
    file_id: str,
    *,
    ext: str = "wav",
    size: int = 10,
    name: str | None = None,
    folder: str | None = None,
    source_job: str | None = None,
    facts: dict[str, object] | None = None,
) -> StoredFile:
    produced = files.storage.work_dir(file_id) / f"out.{ext}"
    produced.write_bytes(b"x" * size)
    return files.add(file_id, produced, ext, name, facts or {"duration": 1.5}, source_job=source_job, folder=folder)


def ids(found: list[Job]) -> list[str]:
    return [job.id for job in found]


# Jobs


def test_a_job_keeps_every_field_through_its_updates_and_is_gone_once_deleted(backend: Backend) -> None:
    jobs = backend.jobs
    job = Job(
        id=uid(1),
        kind="tts",
        name="greeting",
        params={"speech": {"text": "Hi.", "speed": 1.25}},
        webhook_url="http://hooks.example/x",
        dedup_key="k1",
        created_at=100.5,
        folder="talks/2024",
    )
    jobs.create(job)
    assert jobs.get(job.id) == job
    jobs.update(job.id, status=PROCESSING, started_at=101.0, progress=42.5)
    jobs.update(job.id, webhook={"delivered": False, "attempts": 1})
    stored = jobs.get(job.id)
    assert stored is not None and stored.status is PROCESSING
    assert (stored.progress, stored.started_at, stored.webhook) == (42.5, 101.0, {"delivered": False, "attempts": 1})
    assert (stored.params, stored.name, stored.folder, stored.error) == (job.params, "greeting", "talks/2024", None)
    jobs.delete(job.id)
    assert jobs.get(job.id) is None
    jobs.update(job.id, progress=99.0)
    assert jobs.get(job.id) is None, "an update of a deleted job does not bring it back"
    assert jobs.recent(None, None, 10, 0) == []


def test_a_field_a_job_does_not_have_is_refused(backend: Backend) -> None:
    backend.jobs.create(Job(id=uid(1), kind="tts"))
    with pytest.raises(TypeError, match="filename"):
        backend.jobs.update(uid(1), filename="x.wav")
    stored = backend.jobs.get(uid(1))
    assert stored is not None and stored.status is QUEUED


def test_recent_jobs_are_newest_first_filtered_by_status_and_kind_and_paged(backend: Backend) -> None:
    jobs = backend.jobs
    made = [("tts", QUEUED), ("video", PROCESSING), ("tts", READY), ("audio", FAILED), ("tts", READY)]
    for index, (kind, status) in enumerate(made):
        jobs.create(Job(id=uid(index), kind=kind, status=status, created_at=10.0 + index))
    assert ids(jobs.recent(None, None, 10, 0)) == [uid(4), uid(3), uid(2), uid(1), uid(0)]
    assert ids(jobs.recent(None, "tts", 10, 0)) == [uid(4), uid(2), uid(0)]
    assert ids(jobs.recent(READY, None, 10, 0)) == [uid(4), uid(2)]
    assert ids(jobs.recent(READY, "tts", 1, 1)) == [uid(2)]
    assert ids(jobs.recent(None, None, 2, 1)) == [uid(3), uid(2)]
    assert ids(jobs.recent(None, "tts", 2, 2)) == [uid(0)]
    assert jobs.recent(PROCESSING, "tts", 10, 0) == []


def test_unfinished_jobs_come_oldest_first_and_leave_when_they_end(backend: Backend) -> None:
    jobs = backend.jobs
    for index, status in enumerate([PROCESSING, READY, QUEUED, FAILED, QUEUED]):
        jobs.create(Job(id=uid(index), kind="tts", status=status, created_at=50.0 - index))
    assert ids(jobs.unfinished()) == [uid(4), uid(2), uid(0)]
    jobs.update(uid(2), status=READY, finished_at=60.0)
    jobs.update(uid(0), status=QUEUED, progress=0.0, started_at=None)
    assert ids(jobs.unfinished()) == [uid(4), uid(0)]
    jobs.update(uid(3), status=QUEUED, error=None, finished_at=None)
    assert ids(jobs.unfinished()) == [uid(4), uid(3), uid(0)], "a job queued again is unfinished again"


def test_jobs_that_ended_before_a_time_are_found_for_retention(backend: Backend) -> None:
    jobs = backend.jobs
    jobs.create(Job(id=uid(1), kind="tts", status=READY, finished_at=10.0))
    jobs.create(Job(id=uid(2), kind="tts", status=FAILED, finished_at=20.0))
    jobs.create(Job(id=uid(3), kind="tts", status=PROCESSING))
    assert sorted(ids(jobs.ended_before(20.0))) == [uid(1)]
    jobs.update(uid(3), status=READY, finished_at=15.0)
    assert sorted(ids(jobs.ended_before(20.0))) == [uid(1), uid(3)]
    jobs.update(uid(1), status=QUEUED, finished_at=None)
    assert sorted(ids(jobs.ended_before(100.0))) == [uid(2), uid(3)]
    jobs.delete(uid(2))
    assert ids(jobs.ended_before(100.0)) == [uid(3)]


def test_an_identical_request_reuses_the_newest_job_that_did_not_fail_within_the_window(backend: Backend) -> None:
    jobs = backend.jobs
    jobs.create(Job(id=uid(1), kind="tts", status=READY, dedup_key="same", created_at=10.0))
    jobs.create(Job(id=uid(2), kind="tts", status=QUEUED, dedup_key="same", created_at=20.0))
    jobs.create(Job(id=uid(3), kind="tts", status=FAILED, dedup_key="same", created_at=30.0))
    jobs.create(Job(id=uid(4), kind="tts", status=QUEUED, dedup_key="other", created_at=40.0))
    reused = jobs.reusable("same", 0.0)
    assert reused is not None and reused.id == uid(2), "the failed one is newer but never reused"
    reused = jobs.reusable("same", 10.0)
    assert reused is not None and reused.id == uid(2), "the window includes its start"
    assert jobs.reusable("same", 25.0) is None, "outside the window"
    jobs.update(uid(2), status=FAILED, error="boom", finished_at=50.0)
    reused = jobs.reusable("same", 0.0)
    assert reused is not None and reused.id == uid(1)
    jobs.delete(uid(1))
    assert jobs.reusable("same", 0.0) is None
    assert jobs.reusable("unknown", 0.0) is None


def test_two_nodes_see_each_others_jobs_files_and_folders(backend: Backend) -> None:
    other_jobs, other_files = backend.another_node()
    backend.jobs.create(Job(id=uid(1), kind="tts", created_at=5.0))
    seen = other_jobs.get(uid(1))
    assert seen is not None and seen.status is QUEUED
    other_jobs.update(uid(1), status=PROCESSING, progress=10.0)
    seen = backend.jobs.get(uid(1))
    assert seen is not None and (seen.status, seen.progress) == (PROCESSING, 10.0)
    store(other_files, uid(2), folder="shared/in")
    assert backend.files.get(uid(2)) is not None
    assert [folder.path for folder in backend.files.folders.children("shared")] == ["shared/in"]
    backend.files.delete(uid(2))
    backend.jobs.delete(uid(1))
    assert other_files.get(uid(2)) is None and other_jobs.get(uid(1)) is None


def test_two_nodes_updating_different_fields_of_one_job_at_once_both_land(backend: Backend) -> None:
    other_jobs, _ = backend.another_node()
    backend.jobs.create(Job(id=uid(1), kind="tts", status=PROCESSING))
    rounds = 150

    def progress() -> None:
        for step in range(rounds):
            backend.jobs.update(uid(1), progress=float(step))

    def webhook() -> None:
        for attempt in range(rounds):
            other_jobs.update(uid(1), webhook={"attempts": attempt}, name=f"take {attempt}")

    threads = [threading.Thread(target=progress), threading.Thread(target=webhook)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final = backend.jobs.get(uid(1))
    assert final is not None
    assert (final.progress, final.webhook, final.name) == (rounds - 1.0, {"attempts": rounds - 1}, f"take {rounds - 1}")
    assert final.status is PROCESSING


# Files and the listing


def test_a_stored_file_is_recorded_with_its_bytes_and_deleted_with_them(backend: Backend, tmp_path: Path) -> None:
    files = backend.files
    stored = store(files, uid(1), name="greeting", size=44, facts={"duration": 1.5, "media_type": "audio"})
    again = files.get(uid(1))
    assert again == stored and again.download_name == "greeting.wav" and again.media_kind == "audio"
    assert files.path(again).read_bytes() == b"x" * 44
    assert files.input_path(uid(1)) == files.path(again)
    files.delete(uid(1))
    assert files.get(uid(1)) is None
    assert list((tmp_path / "bytes" / "files").iterdir()) == []


def test_deleting_a_jobs_file_deletes_every_other_file_that_job_made(backend: Backend) -> None:
    jobs, files = backend.jobs, backend.files
    jobs.create(Job(id=uid(1), kind="audio", status=READY, output_file_id=uid(1)))
    store(files, uid(1), source_job=uid(1))
    store(files, uid(2), source_job=uid(1))
    store(files, uid(3), source_job=uid(1))
    store(files, uid(4))
    files.delete(uid(1))
    assert [files.get(uid(n)) for n in (1, 2, 3)] == [None, None, None]
    assert files.get(uid(4)) is not None, "a file the job did not make stays"


def test_files_created_before_a_time_are_found_for_retention(backend: Backend) -> None:
    files = backend.files
    store(files, uid(1))
    cutoff = time.time()
    time.sleep(0.01)
    store(files, uid(2))
    assert [stored.id for stored in files.created_before(cutoff)] == [uid(1)]
    assert sorted(stored.id for stored in files.created_before(time.time() + 1)) == [uid(1), uid(2)]


def test_a_renamed_or_moved_file_keeps_its_id_and_bytes_and_its_new_folder_exists(backend: Backend) -> None:
    files = backend.files
    store(files, uid(1), name="old", folder="inbox")
    files.update(uid(1), {"name": "new", "folder": "archive/2024"})
    moved = files.get(uid(1))
    assert moved is not None and (moved.name, moved.folder, moved.size) == ("new", "archive/2024", 10)
    assert files.folders.get("archive") is not None and files.folders.get("archive/2024") is not None
    files.update(uid(1), {"folder": None, "ignored": "x"})
    moved = files.get(uid(1))
    assert moved is not None and (moved.name, moved.folder) == ("new", None)
    files.delete(uid(1))
    files.update(uid(1), {"name": "ghost"})
    assert files.get(uid(1)) is None, "a rename of a deleted file does not bring it back"


def listing_world(backend: Backend) -> None:
    """An upload, job outputs, a failed and a queued job, in folders and at the top level, oldest first."""
    jobs, files = backend.jobs, backend.files
    store(files, uid(1), ext="png", size=100, name="Cover Art", folder="covers", facts={"media_type": "image"})
    jobs.create(Job(id=uid(2), kind="tts", status=READY, output_file_id=uid(2), name="Hello"))
    store(files, uid(2), size=200, name="Hello", source_job=uid(2), facts={"duration": 2.5})
    jobs.create(Job(id=uid(3), kind="video", status=READY, output_file_id=uid(3), folder="clips/2024"))
    store(files, uid(3), ext="mp4", size=300, source_job=uid(3), folder="clips/2024")
    jobs.create(Job(id=uid(4), kind="video", status=FAILED, error="ffmpeg failed", folder="clips", name="Broken"))
    jobs.create(Job(id=uid(5), kind="tts", status=QUEUED, name="later"))


def listed(files: Files, **where: str | None) -> tuple[list[str], int]:
    found, total = files.items(ItemFilter(**where), 50, 0)
    return [item.id for item in found], total


def test_a_listing_holds_every_file_and_every_job_without_a_file_newest_first(backend: Backend) -> None:
    listing_world(backend)
    found, total = backend.files.items(ItemFilter(), 50, 0)
    assert [item.id for item in found] == [uid(5), uid(4), uid(3), uid(2), uid(1)] and total == 5
    by_id = {item.id: item for item in found}
    cover, hello, clip = by_id[uid(1)], by_id[uid(2)], by_id[uid(3)]
    assert (cover.media_type, cover.content_type, cover.kind, cover.status) == ("image", "image/png", "upload", "ready")
    assert (cover.size, cover.folder, cover.download_name, cover.progress) == (100, "covers", "Cover Art.png", 100.0)
    assert (hello.kind, hello.duration, hello.media_type, hello.content_type) == ("tts", 2.5, "audio", "audio/wav")
    assert (clip.kind, clip.media_type, clip.folder, clip.name) == ("video", "video", "clips/2024", None)
    failed, queued = by_id[uid(4)], by_id[uid(5)]
    assert (failed.status, failed.error, failed.kind, failed.filename, failed.size) == (
        "failed",
        "ffmpeg failed",
        "video",
        None,
        None,
    )
    assert (queued.status, queued.progress, queued.folder, queued.download_name) == ("queued", 0.0, None, None)


def test_a_listing_filters_by_media_type_folder_kind_status_and_name(backend: Backend) -> None:
    listing_world(backend)
    files = backend.files
    assert listed(files, media_type="video") == ([uid(3)], 1)
    assert listed(files, media_type="audio") == ([uid(2)], 1)
    assert listed(files, folder="") == ([uid(5), uid(2)], 2), "'' is the top level only"
    assert listed(files, folder="clips") == ([uid(4)], 1), "a folder, not what lies below it"
    assert listed(files, folder="clips/2024") == ([uid(3)], 1)
    assert listed(files, kind="tts") == ([uid(5), uid(2)], 2)
    assert listed(files, kind="upload") == ([uid(1)], 1)
    assert listed(files, status="ready") == ([uid(3), uid(2), uid(1)], 3)
    assert listed(files, status="failed", kind="video") == ([uid(4)], 1)
    assert listed(files, q="cOVER") == ([uid(1)], 1), "the name, case-insensitive"
    assert listed(files, q=uid(3)[-6:]) == ([uid(3)], 1), "the stored file name when there is no name"
    assert listed(files, q="e") == ([uid(5), uid(4), uid(2), uid(1)], 4)
    assert listed(files, q="zzz") == ([], 0)
    assert listed(files, kind="tts", folder="", q="hel", status="ready") == ([uid(2)], 1)


def test_a_listing_is_paged_with_the_total_of_every_match(backend: Backend) -> None:
    listing_world(backend)
    page, total = backend.files.items(ItemFilter(), 2, 0)
    assert [item.id for item in page] == [uid(5), uid(4)] and total == 5
    page, total = backend.files.items(ItemFilter(), 2, 4)
    assert [item.id for item in page] == [uid(1)] and total == 5
    page, total = backend.files.items(ItemFilter(status="ready"), 1, 1)
    assert [item.id for item in page] == [uid(2)] and total == 3
    page, total = backend.files.items(ItemFilter(), 10, 9)
    assert page == [] and total == 5


def test_a_job_is_listed_until_its_file_is_stored_then_only_the_file_is(backend: Backend) -> None:
    jobs, files = backend.jobs, backend.files
    jobs.create(Job(id=uid(7), kind="tts", name="soon", folder="news"))
    item = files.item(uid(7))
    assert item is not None and (item.status, item.filename, item.folder) == ("queued", None, "news")
    jobs.update(uid(7), status=PROCESSING, progress=50.0)
    store(files, uid(7), name="soon", source_job=uid(7), folder="news")
    found, total = files.items(ItemFilter(), 10, 0)
    assert [(item.id, item.status) for item in found] == [(uid(7), "ready")] and total == 1
    jobs.update(uid(7), status=READY, progress=100.0, output_file_id=uid(7), finished_at=time.time())
    item = files.item(uid(7))
    assert item is not None and (item.status, item.kind, item.filename) == ("ready", "tts", f"{uid(7)}.wav")
    assert listed(files, kind="tts", status="processing") == ([], 0)
    files.delete(uid(7))
    assert files.item(uid(7)) is None, "a ready job whose file is gone is not listed"
    assert files.item(uid(99)) is None


def test_stats_count_files_and_bytes_by_media_kind_and_folder_and_jobs_by_status(backend: Backend) -> None:
    listing_world(backend)
    backend.files.folders.ensure("empty")
    stats = backend.files.stats()
    assert (stats.total.files, stats.total.bytes) == (3, 600)
    assert [(kind, tally.files, tally.bytes) for kind, tally in stats.by_media_type] == [
        ("audio", 1, 200),
        ("image", 1, 100),
        ("video", 1, 300),
    ]
    assert [(folder, tally.files, tally.bytes) for folder, tally in stats.by_folder] == [
        (None, 1, 200),
        ("clips", 0, 0),
        ("clips/2024", 1, 300),
        ("covers", 1, 100),
        ("empty", 0, 0),
    ]
    assert stats.jobs == {"failed": 1, "queued": 1, "ready": 2}
    assert stats.disk_total_bytes >= stats.disk_free_bytes > 0


# Folders


def test_folders_are_made_with_every_parent_and_listed_with_what_lies_in_them(backend: Backend) -> None:
    folders = backend.files.folders
    store(backend.files, uid(1), folder="music/live/2024", size=7)
    assert folders.create("music/empty") is True
    assert folders.create("music/empty") is False, "it exists already"
    assert [(f.path, f.folder_count, f.file_count) for f in folders.children(None)] == [("music", 2, 0)]
    assert [f.path for f in folders.children("music")] == ["music/empty", "music/live"]
    assert [f.path for f in folders.children("music", recursive=True)] == [
        "music/empty",
        "music/live",
        "music/live/2024",
    ]
    assert [f.path for f in folders.children(None, recursive=True)] == [
        "music",
        "music/empty",
        "music/live",
        "music/live/2024",
    ]
    deepest = folders.get("music/live/2024")
    assert deepest is not None and (deepest.file_count, deepest.bytes, deepest.parent, deepest.name) == (
        1,
        7,
        "music/live",
        "2024",
    )
    assert folders.get("nowhere") is None
    folders.remove("music/live")
    assert [f.path for f in folders.children(None, recursive=True)] == ["music", "music/empty"]


def test_folder_names_with_wildcards_match_only_themselves(backend: Backend) -> None:
    store(backend.files, uid(1), folder="a_b/x")
    store(backend.files, uid(2), folder="axb/x")
    store(backend.files, uid(3), folder="a%/x")
    assert [f.path for f in backend.files.folders.children("a_b", recursive=True)] == ["a_b/x"]
    assert listed(backend.files, folder="a_b/x") == ([uid(1)], 1)
    backend.files.folders.remove("a%")
    assert sorted(f.path for f in backend.files.folders.children(None)) == ["a_b", "axb"]


def test_a_folder_waiting_for_a_job_result_cannot_be_deleted(backend: Backend) -> None:
    backend.files.folders.ensure("reports/q1")
    backend.jobs.create(Job(id=uid(1), kind="video", status=PROCESSING, folder="reports/q1"))
    with pytest.raises(
        FolderConflict, match=f"waiting for the result of 1 queued or running job\\(s\\) \\({uid(1)}\\)"
    ):
        backend.files.delete_folder("reports", recursive=True, jobs=backend.jobs)
    assert backend.files.folders.get("reports/q1") is not None


def test_a_folder_with_anything_in_it_is_deleted_only_when_recursive(backend: Backend) -> None:
    jobs, files = backend.jobs, backend.files
    store(files, uid(1), folder="reports")
    jobs.create(Job(id=uid(2), kind="tts", status=READY, output_file_id=uid(2), folder="reports/q1"))
    store(files, uid(2), folder="reports/q1", source_job=uid(2))
    jobs.create(Job(id=uid(3), kind="tts", status=FAILED, error="boom", folder="reports/q1"))
    files.folders.ensure("reports/q2/empty")
    store(files, uid(4), folder="reportsx")
    message = r"Folder 'reports' is not empty \(2 file\(s\), 1 failed job\(s\), 3 folder\(s\)\); send recursive=true"
    with pytest.raises(FolderConflict, match=message):
        files.delete_folder("reports", recursive=False, jobs=jobs)
    removal = files.delete_folder("reports", recursive=True, jobs=jobs)
    assert (removal.files, removal.jobs, removal.folders) == (2, 1, 4)
    assert [files.get(uid(n)) for n in (1, 2)] == [None, None] and [jobs.get(uid(n)) for n in (2, 3)] == [None, None]
    assert [f.path for f in files.folders.children(None, recursive=True)] == ["reportsx"]
    assert listed(files) == ([uid(4)], 1)


def test_an_empty_folder_is_deleted_without_recursive(backend: Backend) -> None:
    backend.files.folders.ensure("empty")
    removal = backend.files.delete_folder("empty", recursive=False, jobs=backend.jobs)
    assert (removal.files, removal.jobs, removal.folders) == (0, 0, 1)
    assert backend.files.folders.get("empty") is None


# Redis only: what a second node, a race or a restart of Redis could break


@pytest.fixture
def redis_backend(clients: Callable[[], redis.Redis], tmp_path: Path) -> tuple[redis.Redis, Backend]:
    client, storage = clients(), LocalStorage(tmp_path / "bytes")
    jobs, files = redis_records(client, storage)
    return client, Backend("redis", jobs, files, lambda: redis_records(clients(), storage))


def test_a_job_deleted_on_one_node_while_another_updates_it_stays_gone_with_no_half_record(
    redis_backend: tuple[redis.Redis, Backend],
) -> None:
    client, backend = redis_backend
    other_jobs, _ = backend.another_node()

    def keep_updating(job_id: str) -> None:
        for step in range(20):
            other_jobs.update(job_id, progress=float(step))

    for round_ in range(30):
        job_id = uid(round_)
        backend.jobs.create(Job(id=job_id, kind="tts", status=PROCESSING, created_at=float(round_)))
        updater = threading.Thread(target=keep_updating, args=(job_id,))
        updater.start()
        backend.jobs.delete(job_id)
        updater.join()
        assert backend.jobs.get(job_id) is None
    assert client.keys(f"{KEY_PREFIX}job:*") == []
    assert backend.jobs.unfinished() == [] and backend.jobs.recent(None, None, 100, 0) == []


def test_records_survive_a_restart_of_redis(
    redis_backend: tuple[redis.Redis, Backend], redis_server: RedisServer
) -> None:
    _, backend = redis_backend
    listing_world(backend)
    backend.jobs.update(uid(5), status=PROCESSING, progress=30.0)
    before = backend.files.items(ItemFilter(), 50, 0)
    redis_server.restart()
    jobs, files = backend.another_node()
    assert files.items(ItemFilter(), 50, 0) == before
    queued = jobs.get(uid(5))
    assert queued is not None and (queued.status, queued.progress) == (PROCESSING, 30.0)
    assert [job.id for job in jobs.unfinished()] == [uid(5)]
    assert [f.path for f in files.folders.children(None, recursive=True)] == ["clips", "clips/2024", "covers"]
    assert backend.jobs.get(uid(5)) is not None, "the first node's client reconnects by itself"
