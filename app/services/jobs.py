"""Job records behind a small `JobStore` interface; the SQLite backend lives in the storage dir."""

import json
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

QUEUED, PROCESSING, READY, FAILED = "queued", "processing", "ready", "failed"
INTERRUPTED = "The job was interrupted by a restart of the server; submit it again."


@dataclass
class Job:
    id: str
    kind: str
    status: str = QUEUED
    progress: float = 0.0
    error: str | None = None
    name: str | None = None
    params: dict = field(default_factory=dict)
    result: dict = field(default_factory=dict)
    filename: str | None = None
    media_type: str | None = None
    webhook_url: str | None = None
    webhook: dict | None = None
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def ended(self) -> bool:
        return self.status in (READY, FAILED)


class JobStore(Protocol):
    def create(self, job: Job) -> None: ...
    def get(self, job_id: str) -> Job | None: ...
    def update(self, job_id: str, **fields) -> None: ...
    def delete(self, job_id: str) -> None: ...
    def list_jobs(self, status: str | None, kind: str | None, limit: int, offset: int) -> list[Job]: ...
    def unfinished(self) -> list[Job]: ...
    def ended_before(self, timestamp: float) -> list[Job]: ...


_JSON_FIELDS = ("params", "result", "webhook")
_COLUMNS = tuple(Job.__dataclass_fields__)


class SqliteJobStore:
    """Every transition is written at once; WAL mode keeps readers and the writer apart."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, kind TEXT, status TEXT, progress REAL, "
                "error TEXT, name TEXT, params TEXT, result TEXT, filename TEXT, media_type TEXT, "
                "webhook_url TEXT, webhook TEXT, created_at REAL, started_at REAL, finished_at REAL)"
            )
            self._db.execute("CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, kind, created_at)")

    @staticmethod
    def _row(job: Job) -> dict:
        row = asdict(job)
        for key in _JSON_FIELDS:
            row[key] = json.dumps(row[key])
        return row

    @staticmethod
    def _job(values: tuple) -> Job:
        row = dict(zip(_COLUMNS, values, strict=True))
        for key in _JSON_FIELDS:
            row[key] = json.loads(row[key]) if row[key] else ({} if key != "webhook" else None)
        return Job(**row)

    def create(self, job: Job) -> None:
        row = self._row(job)
        with self._lock:
            self._db.execute(
                f"INSERT INTO jobs ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                [row[c] for c in _COLUMNS],
            )

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            values = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return self._job(values) if values else None

    def update(self, job_id: str, **fields) -> None:
        for key in _JSON_FIELDS:
            if key in fields:
                fields[key] = json.dumps(fields[key])
        assignments = ", ".join(f"{key} = ?" for key in fields)
        with self._lock:
            self._db.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", [*fields.values(), job_id])

    def delete(self, job_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def _select(self, where: str, args: list, suffix: str = "") -> list[Job]:
        with self._lock:
            rows = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE {where} {suffix}", args).fetchall()
        return [self._job(r) for r in rows]

    def list_jobs(self, status: str | None, kind: str | None, limit: int, offset: int) -> list[Job]:
        clauses, args = ["1 = 1"], []
        if status:
            clauses.append("status = ?")
            args.append(status)
        if kind:
            clauses.append("kind = ?")
            args.append(kind)
        return self._select(" AND ".join(clauses), [*args, limit, offset], "ORDER BY created_at DESC LIMIT ? OFFSET ?")

    def unfinished(self) -> list[Job]:
        return self._select("status IN (?, ?)", [QUEUED, PROCESSING], "ORDER BY created_at")

    def ended_before(self, timestamp: float) -> list[Job]:
        return self._select("finished_at IS NOT NULL AND finished_at < ?", [timestamp])

    def close(self) -> None:
        with self._lock:
            self._db.close()
