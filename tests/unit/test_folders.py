"""Folder paths (the one check every folder a client sends goes through) and the `folders` table."""

import sqlite3
from pathlib import Path

import pytest

from app.errors import InvalidInput
from app.services.database import Database
from app.services.files import Files, ItemFilter
from app.services.folders import check_file_name, check_folder, folder_filter, lineage
from app.services.jobs import Job, JobStatus, SqliteJobs
from app.services.sqlite_files import SqliteFileRecords
from app.services.storage import LocalStorage


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("reports/2024", "reports/2024"),
        ("  reports  ", "reports"),
        ("Fotos/Cafe\u0301 & Bar", "Fotos/Café & Bar"),
        ("100% done", "100% done"),
        ("a.b/..c/d..", "a.b/..c/d.."),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_a_folder_path_is_kept_as_given_normalised(sent: str | None, stored: str | None) -> None:
    assert check_folder(sent, "folder") == stored


@pytest.mark.parametrize(
    ("sent", "reason"),
    [
        ("..", "not a folder name"),
        ("../x", "not a folder name"),
        ("a/../../etc", "not a folder name"),
        ("a/..", "not a folder name"),
        ("./a", "not a folder name"),
        ("%2e%2e", "percent-encoded"),
        ("%2E%2E/x", "percent-encoded"),
        ("a%2fb", "percent-encoded"),
        ("%252e%252e", "percent-encoded"),
        ("/etc", "absolute"),
        ("/", "absolute"),
        ("//server/share", "absolute"),
        ("a//b", "empty folder names"),
        ("a/b/", "empty folder names"),
        ("a\\b", "backslashes"),
        ("..\\x", "backslashes"),
        ("a\x00b", "control"),
        ("a\nb", "control"),
        ("a\x7fb", "control"),
        ("evil\u202etxt.exe", "control"),
        ("a?b", "'?'"),
        ("a#b", "'#'"),
        ("a/ b", "start or end with a space"),
        ("x" * 101, "at most 100 characters"),
        ("/".join(["abcdefghij"] * 24), "at most 255 characters"),
        ("/".join("abcdefghijklmnopq"), "at most 16 deep"),
    ],
)
def test_a_traversal_or_malformed_folder_is_refused_naming_the_field(sent: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_folder(sent, "parent_folder")
    assert refused.value.message.startswith("Field 'parent_folder'")
    assert reason in refused.value.message


def test_a_listing_filter_reads_slash_or_empty_as_the_top_level() -> None:
    assert folder_filter(None) is None
    assert folder_filter("") == folder_filter("/") == folder_filter(" / ") == ""
    assert folder_filter("a/b") == "a/b"
    with pytest.raises(InvalidInput, match="Field 'folder'"):
        folder_filter("%2e%2e")


def test_a_file_name_has_no_slashes_or_control_characters() -> None:
    assert check_file_name("  My take 2 ") == "My take 2"
    assert check_file_name("") is None
    for bad in ("a/b", "a\\b", "a\tb", "n" * 201):
        with pytest.raises(InvalidInput, match="Field 'name'"):
            check_file_name(bad)


def test_a_folder_lineage_runs_from_the_top_down() -> None:
    assert lineage("a/b/c") == ["a", "a/b", "a/b/c"]
    assert lineage("a") == ["a"]


def open_files(root: Path) -> tuple[Database, SqliteJobs, Files]:
    storage = LocalStorage(root)
    database = Database(root / "jobs.sqlite3", storage.size)
    return database, SqliteJobs(database), Files(SqliteFileRecords(database), storage)


def store(files: Files, file_id: str, folder: str | None, size: int = 10) -> None:
    produced = files.storage.work_dir(file_id) / "out.wav"
    produced.write_bytes(b"R" * size)
    files.add(file_id, produced, "wav", f"take {file_id[0]}", {"duration": 1.0}, folder=folder)


def test_a_file_in_a_nested_folder_makes_every_folder_above_it(tmp_path: Path) -> None:
    database, _, files = open_files(tmp_path)
    store(files, "1" * 32, "music/live/2024", size=7)
    files.folders.ensure("music/empty")
    top = files.folders.children(None)
    assert [(f.path, f.folder_count, f.file_count) for f in top] == [("music", 2, 0)]
    assert [f.path for f in files.folders.children("music")] == ["music/empty", "music/live"]
    assert [f.path for f in files.folders.children("music", recursive=True)] == [
        "music/empty",
        "music/live",
        "music/live/2024",
    ]
    deepest = files.folders.get("music/live/2024")
    assert deepest is not None and (deepest.file_count, deepest.bytes, deepest.parent) == (1, 7, "music/live")
    database.close()


def test_folder_names_with_sql_wildcards_match_only_themselves(tmp_path: Path) -> None:
    database, _, files = open_files(tmp_path)
    store(files, "1" * 32, "a_b/x")
    store(files, "2" * 32, "axb/x")
    assert [f.path for f in files.folders.children("a_b", recursive=True)] == ["a_b/x"]
    items, total = files.items(ItemFilter(folder="a_b/x"), 10, 0)
    assert total == 1 and items[0].id == "1" * 32
    database.close()


def test_a_database_from_before_folders_gains_them_on_start(tmp_path: Path) -> None:
    old = sqlite3.connect(tmp_path / "jobs.sqlite3")
    old.execute(
        "CREATE TABLE files (id TEXT PRIMARY KEY, name TEXT, filename TEXT NOT NULL, media_type TEXT NOT NULL, "
        "size INTEGER NOT NULL, facts TEXT NOT NULL, source_job TEXT, created_at REAL NOT NULL)"
    )
    old.execute("INSERT INTO files VALUES ('" + "a" * 32 + "', 'cover', 'x.png', 'image/png', 5, '{}', NULL, 1)")
    old.commit()
    old.close()
    database, jobs, files = open_files(tmp_path)
    kept = files.get("a" * 32)
    assert kept is not None and kept.folder is None and kept.media_kind == "image"
    files.update("a" * 32, {"folder": "covers"})
    jobs.create(Job(id="b" * 32, kind="tts", status=JobStatus.QUEUED, folder="covers"))
    moved = files.get("a" * 32)
    assert moved is not None and moved.folder == "covers"
    items, total = files.items(ItemFilter(folder="covers"), 10, 0)
    assert total == 2 and {item.status for item in items} == {"ready", "queued"}
    database.close()
