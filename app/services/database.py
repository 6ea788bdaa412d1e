"""The SQLite database under STORAGE_PATH that holds the `jobs`, `files` and `folders` tables, and its migrations.

One connection in WAL mode, shared by the job and file records behind one lock; every write is committed
at once (autocommit), so a crash loses nothing that was answered.
"""

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger("app.database")

JOBS_TABLE = (
    "CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL, "
    "progress REAL NOT NULL, error TEXT, name TEXT, params TEXT NOT NULL, webhook_url TEXT, webhook TEXT, "
    "output_file_id TEXT, dedup_key TEXT, created_at REAL NOT NULL, started_at REAL, finished_at REAL, folder TEXT)"
)
FILES_TABLE = (
    "CREATE TABLE IF NOT EXISTS files (id TEXT PRIMARY KEY, name TEXT, filename TEXT NOT NULL, "
    "media_type TEXT NOT NULL, size INTEGER NOT NULL, facts TEXT NOT NULL, source_job TEXT, created_at REAL NOT NULL, "
    "folder TEXT)"
)
FOLDERS_TABLE = "CREATE TABLE IF NOT EXISTS folders (path TEXT PRIMARY KEY, parent TEXT, created_at REAL NOT NULL)"
INDEXES = (
    "CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, kind, created_at)",
    "CREATE INDEX IF NOT EXISTS files_created ON files(created_at)",
    "CREATE INDEX IF NOT EXISTS jobs_dedup ON jobs(dedup_key, created_at)",
    "CREATE INDEX IF NOT EXISTS files_folder ON files(folder, created_at)",
    "CREATE INDEX IF NOT EXISTS folders_parent ON folders(parent)",
    "CREATE INDEX IF NOT EXISTS files_source_job ON files(source_job)",
)
ADDED_COLUMNS = {"jobs": {"dedup_key": "TEXT", "folder": "TEXT"}, "files": {"folder": "TEXT"}}
"""Columns added after a table first shipped: added on start to a database that lacks them."""


class Database:
    """The connection and its lock; `migrate` brings a database of an older release up to date first."""

    def __init__(self, path: Path, size_of: Callable[[str], int]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            if _columns(self._db, "jobs") and "filename" in _columns(self._db, "jobs"):
                migrate_jobs_with_files(self._db, size_of)
            self._db.execute(JOBS_TABLE)
            self._db.execute(FILES_TABLE)
            self._db.execute(FOLDERS_TABLE)
            _add_missing_columns(self._db)
            for statement in INDEXES:
                self._db.execute(statement)

    def execute(self, sql: str, args: list[Any] | tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Several statements that land together or not at all."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _add_missing_columns(db: sqlite3.Connection) -> None:
    for table, columns in ADDED_COLUMNS.items():
        present = _columns(db, table)
        for name, sql_type in columns.items():
            if name not in present:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}")


def _columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in db.execute(f"PRAGMA table_info({table})").fetchall()]


def migrate_jobs_with_files(db: sqlite3.Connection, size_of: Callable[[str], int]) -> None:
    """The first release kept uploads and outputs in `jobs` (filename, media_type, result): every stored file
    becomes a row of `files`, uploads leave `jobs`, and a TTS job's `params.request` becomes `params.speech`."""
    old = db.execute(
        "SELECT id, kind, status, progress, error, name, params, result, filename, media_type, webhook_url, "
        "webhook, created_at, started_at, finished_at FROM jobs"
    ).fetchall()
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("ALTER TABLE jobs RENAME TO jobs_before_files")
        db.execute("DROP INDEX IF EXISTS jobs_status")
        db.execute(JOBS_TABLE)
        db.execute(FILES_TABLE)
        for row in old:
            _migrate_row(db, row, size_of)
        db.execute("DROP TABLE jobs_before_files")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    log.info("database migrated: %d records of the first release now in jobs and files", len(old))


def _migrate_row(db: sqlite3.Connection, row: tuple[Any, ...], size_of: Callable[[str], int]) -> None:
    (job_id, kind, status, progress, error, name, params, result, filename, media_type) = row[:10]
    webhook_url, webhook, created_at, started_at, finished_at = row[10:]
    stored = status == "ready" and filename
    if stored:
        db.execute(
            "INSERT INTO files (id, name, filename, media_type, size, facts, source_job, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                job_id,
                name,
                filename,
                media_type or "application/octet-stream",
                size_of(filename),
                result or "{}",
                None if kind == "upload" else job_id,
                finished_at or created_at,
            ),
        )
    if kind == "upload":
        return
    values = json.loads(params) if params else {}
    if "request" in values:
        values["speech"] = values.pop("request")
    db.execute(
        "INSERT INTO jobs (id, kind, status, progress, error, name, params, webhook_url, webhook, output_file_id, "
        "created_at, started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            *(job_id, kind, status, progress, error, name, json.dumps(values), webhook_url, webhook),
            *(job_id if stored else None, created_at, started_at, finished_at),
        ),
    )
