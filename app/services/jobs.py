"""Job records: what was asked (kind, params), where it stands (status, progress, error) and its output file."""

import json
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from app.services.database import Database

INTERRUPTED = "The job was interrupted by a restart of the server; submit it again."


class JobStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


@dataclass
class Job:
    id: str
    kind: str
    status: JobStatus = JobStatus.QUEUED
    progress: float = 0.0
    error: str | None = None
    name: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    webhook_url: str | None = None
    webhook: dict[str, Any] | None = None
    output_file_id: str | None = None
    dedup_key: str | None = None
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    folder: str | None = None


class Jobs(Protocol):
    def create(self, job: Job) -> None: ...
    def get(self, job_id: str) -> Job | None: ...
    def update(self, job_id: str, **fields: Any) -> None: ...
    def delete(self, job_id: str) -> None: ...
    def recent(self, status: JobStatus | None, kind: str | None, limit: int, offset: int) -> list[Job]: ...
    def unfinished(self) -> list[Job]: ...
    def ended_before(self, timestamp: float) -> list[Job]: ...
    def reusable(self, dedup_key: str, since: float) -> Job | None: ...


_JSON_FIELDS = ("params", "webhook")
_COLUMNS = tuple(Job.__dataclass_fields__)
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM jobs"


def _encode(key: str, value: Any) -> Any:
    return json.dumps(value) if key in _JSON_FIELDS and value is not None else value


def _job(values: tuple[Any, ...]) -> Job:
    row = dict(zip(_COLUMNS, values, strict=True))
    row["params"] = json.loads(row["params"]) if row["params"] else {}
    row["webhook"] = json.loads(row["webhook"]) if row["webhook"] else None
    row["status"] = JobStatus(row["status"])
    return Job(**row)


class SqliteJobs:
    """The `jobs` table: every transition written at once."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, job: Job) -> None:
        values = [_encode(column, getattr(job, column)) for column in _COLUMNS]
        self._db.execute(f"INSERT INTO jobs ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})", values)

    def get(self, job_id: str) -> Job | None:
        rows = self._db.execute(f"{_SELECT} WHERE id = ?", (job_id,))
        return _job(rows[0]) if rows else None

    def update(self, job_id: str, **fields: Any) -> None:
        unknown = set(fields) - set(_COLUMNS)
        if unknown:
            raise TypeError(f"unknown job fields: {sorted(unknown)}")
        assignments = ", ".join(f"{key} = ?" for key in fields)
        values = [_encode(key, value) for key, value in fields.items()]
        self._db.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", [*values, job_id])

    def delete(self, job_id: str) -> None:
        self._db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def recent(self, status: JobStatus | None, kind: str | None, limit: int, offset: int) -> list[Job]:
        clauses, args = ["1 = 1"], []
        if status:
            clauses.append("status = ?")
            args.append(str(status))
        if kind:
            clauses.append("kind = ?")
            args.append(kind)
        where = " AND ".join(clauses)
        rows = self._db.execute(
            f"{_SELECT} WHERE {where} ORDER BY created_at DESC LIMIT ? OFFSET ?", [*args, limit, offset]
        )
        return [_job(row) for row in rows]

    def unfinished(self) -> list[Job]:
        rows = self._db.execute(
            f"{_SELECT} WHERE status IN (?, ?) ORDER BY created_at", [JobStatus.QUEUED, JobStatus.PROCESSING]
        )
        return [_job(row) for row in rows]

    def ended_before(self, timestamp: float) -> list[Job]:
        rows = self._db.execute(f"{_SELECT} WHERE finished_at IS NOT NULL AND finished_at < ?", [timestamp])
        return [_job(row) for row in rows]

    def reusable(self, dedup_key: str, since: float) -> Job | None:
        """The newest job made by an identical request since `since` that did not fail (deleted ones are gone)."""
        rows = self._db.execute(
            f"{_SELECT} WHERE dedup_key = ? AND status != ? AND created_at >= ? ORDER BY created_at DESC LIMIT 1",
            [dedup_key, JobStatus.FAILED, since],
        )
        return _job(rows[0]) if rows else None
