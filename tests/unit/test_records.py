"""The `jobs` and `files` tables: records, transitions, and the migration of a first-release database."""

import shutil
import sqlite3
from pathlib import Path

import pytest

from app.services.database import Database
from app.services.files import Files
from app.services.jobs import Job, JobStatus, SqliteJobs
from app.services.sqlite_files import SqliteFileRecords
from app.services.storage import LocalStorage

FIRST_RELEASE_DB = Path(__file__).resolve().parents[1] / "support" / "data" / "first-release.sqlite3"
UPLOAD, TTS_READY, VIDEO_FAILED, TTS_RUNNING = "a" * 32, "b" * 32, "c" * 32, "e" * 32


def open_records(root: Path) -> tuple[Database, SqliteJobs, Files]:
    storage = LocalStorage(root)
    database = Database(root / "jobs.sqlite3", storage.size)
    return database, SqliteJobs(database), Files(SqliteFileRecords(database), storage)


def test_a_job_keeps_its_params_status_and_webhook_outcome(tmp_path: Path) -> None:
    database, jobs, _ = open_records(tmp_path)
    job = Job(id="1" * 32, kind="tts", params={"speech": {"text": "Hi."}}, name="hello", webhook_url="http://h/x")
    jobs.create(job)
    jobs.update(job.id, status=JobStatus.PROCESSING, started_at=5.0, webhook={"delivered": False})
    stored = jobs.get(job.id)
    assert stored is not None
    assert stored.status is JobStatus.PROCESSING
    assert stored.params == {"speech": {"text": "Hi."}}
    assert stored.webhook == {"delivered": False}
    assert (stored.name, stored.started_at, stored.output_file_id) == ("hello", 5.0, None)
    database.close()


def test_updating_an_unknown_field_is_refused_before_any_sql(tmp_path: Path) -> None:
    database, jobs, _ = open_records(tmp_path)
    jobs.create(Job(id="1" * 32, kind="tts"))
    with pytest.raises(TypeError, match="filename"):
        jobs.update("1" * 32, filename="x.wav")
    database.close()


def test_unfinished_and_recent_jobs_are_found_by_status_and_kind(tmp_path: Path) -> None:
    database, jobs, _ = open_records(tmp_path)
    for index, (kind, status) in enumerate([("tts", "queued"), ("video", "processing"), ("tts", "ready")]):
        jobs.create(Job(id=str(index) * 32, kind=kind, status=JobStatus(status), created_at=float(index)))
    assert [job.id for job in jobs.unfinished()] == ["0" * 32, "1" * 32]
    assert [job.id for job in jobs.recent(None, "tts", 10, 0)] == ["2" * 32, "0" * 32]
    assert [job.id for job in jobs.recent(JobStatus.PROCESSING, None, 10, 0)] == ["1" * 32]
    assert [job.id for job in jobs.recent(None, None, 1, 1)] == ["1" * 32]
    database.close()


def test_a_file_is_recorded_only_after_its_bytes_are_in_storage(tmp_path: Path) -> None:
    database, _, files = open_records(tmp_path)
    produced = files.storage.work_dir("f" * 32) / "out.wav"
    produced.write_bytes(b"RIFF" + b"\0" * 40)
    stored = files.add("f" * 32, produced, "wav", "greeting", {"duration": 1.5}, source_job="f" * 32)
    assert (stored.filename, stored.media_type, stored.size) == ("f" * 32 + ".wav", "audio/wav", 44)
    assert files.path(stored).read_bytes().startswith(b"RIFF")
    assert not produced.exists()
    again = files.get("f" * 32)
    assert again is not None and again.facts == {"duration": 1.5} and again.download_name == "greeting.wav"
    assert again.media_kind == "audio"
    files.delete("f" * 32)
    assert files.get("f" * 32) is None
    assert list((tmp_path / "files").iterdir()) == []
    database.close()


def first_release_storage(tmp_path: Path) -> Path:
    """A storage folder as the first release left it: its database and the two stored files."""
    shutil.copy(FIRST_RELEASE_DB, tmp_path / "jobs.sqlite3")
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / f"{UPLOAD}.png").write_bytes(b"\x89PNG" + b"\0" * 96)
    (tmp_path / "files" / f"{TTS_READY}.wav").write_bytes(b"RIFF" + b"\0" * 1996)
    return tmp_path


def test_a_first_release_database_is_migrated_with_nothing_lost(tmp_path: Path) -> None:
    database, jobs, files = open_records(first_release_storage(tmp_path))
    upload = files.get(UPLOAD)
    assert upload is not None and jobs.get(UPLOAD) is None
    assert (upload.name, upload.media_type, upload.size, upload.source_job) == ("cover", "image/png", 100, None)
    assert upload.facts["width"] == 64 and upload.media_kind == "image"
    spoken = jobs.get(TTS_READY)
    assert spoken is not None and spoken.status is JobStatus.READY and spoken.output_file_id == TTS_READY
    assert spoken.params["speech"]["text"] == "Hello there." and "request" not in spoken.params
    assert spoken.webhook == {"url": "http://127.0.0.1:9/hook", "delivered": True, "attempts": 1}
    output = files.get(TTS_READY)
    assert output is not None and output.source_job == TTS_READY and output.size == 2000
    assert output.facts["words"] == [{"word": "Hello", "start": 0.1, "end": 0.5}]
    failed = jobs.get(VIDEO_FAILED)
    assert failed is not None and failed.error == "ffmpeg failed: boom" and files.get(VIDEO_FAILED) is None
    assert [job.id for job in jobs.unfinished()] == [TTS_RUNNING]
    database.close()


def test_a_migrated_database_opens_again_unchanged(tmp_path: Path) -> None:
    root = first_release_storage(tmp_path)
    database, jobs, _ = open_records(root)
    before = [job.id for job in jobs.recent(None, None, 10, 0)]
    database.close()
    database, jobs, files = open_records(root)
    assert [job.id for job in jobs.recent(None, None, 10, 0)] == before == [TTS_RUNNING, VIDEO_FAILED, TTS_READY]
    assert files.get(UPLOAD) is not None
    tables = sqlite3.connect(root / "jobs.sqlite3").execute("SELECT name FROM sqlite_master WHERE type='table'")
    assert sorted(row[0] for row in tables) == ["files", "folders", "jobs"]
    database.close()


def test_a_database_without_the_dedup_column_gets_it_on_start(tmp_path: Path) -> None:
    old = sqlite3.connect(tmp_path / "jobs.sqlite3")
    old.execute(
        "CREATE TABLE jobs (id TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL, progress REAL NOT NULL, "
        "error TEXT, name TEXT, params TEXT NOT NULL, webhook_url TEXT, webhook TEXT, output_file_id TEXT, "
        "created_at REAL NOT NULL, started_at REAL, finished_at REAL)"
    )
    old.execute("INSERT INTO jobs VALUES ('1111', 'tts', 'ready', 100, NULL, NULL, '{}', NULL, NULL, NULL, 1, 1, 2)")
    old.commit()
    old.close()
    database, jobs, _ = open_records(tmp_path)
    kept = jobs.get("1111")
    assert kept is not None and kept.status is JobStatus.READY and kept.dedup_key is None
    jobs.create(Job(id="2" * 32, kind="tts", dedup_key="k", created_at=5.0))
    assert [job.id for job in [jobs.reusable("k", 0.0)] if job] == ["2" * 32]
    assert jobs.reusable("k", 6.0) is None, "outside the window"
    database.close()


def test_a_failed_job_is_not_reusable(tmp_path: Path) -> None:
    database, jobs, _ = open_records(tmp_path)
    jobs.create(Job(id="1" * 32, kind="tts", status=JobStatus.FAILED, dedup_key="k", created_at=1.0))
    assert jobs.reusable("k", 0.0) is None
    jobs.create(Job(id="2" * 32, kind="tts", status=JobStatus.QUEUED, dedup_key="k", created_at=2.0))
    reused = jobs.reusable("k", 0.0)
    assert reused is not None and reused.id == "2" * 32
    database.close()
