"""Stored files: a record in the `files` table (name, media type, size, facts, source job, folder) and its bytes in
storage; the listing of files and file-less jobs, and the storage's stats.

An upload creates a file and no job; a job that ends ready creates its output file under the job's id. A file's
folder is metadata: moving a file changes its record, never its id or where its bytes are.
"""

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.errors import InvalidInput
from app.services.database import Database
from app.services.folders import FolderConflict, Folders, in_subtree
from app.services.jobs import Jobs, JobStatus
from app.services.storage import MEDIA_TYPES, FileStorage

MEDIA_KINDS = ("image", "video", "audio")


@dataclass
class StoredFile:
    id: str
    filename: str
    media_type: str
    size: int
    name: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    source_job: str | None = None
    created_at: float = field(default_factory=time.time)
    folder: str | None = None

    @property
    def ext(self) -> str:
        return self.filename.rsplit(".", 1)[-1]

    @property
    def media_kind(self) -> str:
        """image, video or audio: what an upload was sniffed as, else what the MIME type says."""
        declared = self.facts.get("media_type")
        if declared in MEDIA_KINDS:
            return str(declared)
        return self.media_type.split("/", 1)[0]

    @property
    def download_name(self) -> str:
        return f"{self.name}.{self.ext}" if self.name else self.filename


_COLUMNS = ("id", "filename", "media_type", "size", "name", "facts", "source_job", "created_at", "folder")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM files"


def _file(values: tuple[Any, ...]) -> StoredFile:
    row = dict(zip(_COLUMNS, values, strict=True))
    row["facts"] = json.loads(row["facts"]) if row["facts"] else {}
    return StoredFile(**row)


class Files:
    """File records and their bytes together: a record exists only for bytes already committed."""

    def __init__(self, db: Database, storage: FileStorage) -> None:
        self._db = db
        self.storage = storage
        self.folders = Folders(db)

    def add(
        self,
        file_id: str,
        produced: Path,
        ext: str,
        name: str | None,
        facts: dict[str, Any],
        source_job: str | None = None,
        folder: str | None = None,
    ) -> StoredFile:
        """Move a finished file into storage atomically, then record it (in `folder`, made if missing)."""
        size = produced.stat().st_size
        filename = self.storage.commit(file_id, produced, ext)
        media_type = MEDIA_TYPES.get(ext, "application/octet-stream")
        stored = StoredFile(file_id, filename, media_type, size, name, facts, source_job, folder=folder)
        self.folders.ensure(folder)
        values = [getattr(stored, column) for column in _COLUMNS]
        values[_COLUMNS.index("facts")] = json.dumps(facts)
        self._db.execute(f"INSERT INTO files ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})", values)
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        rows = self._db.execute(f"{_SELECT} WHERE id = ?", (file_id,))
        return _file(rows[0]) if rows else None

    def path(self, stored: StoredFile) -> Path:
        """A local path to read the bytes from; NotFound when they are gone."""
        return self.storage.path(stored.filename)

    def input_path(self, file_id: str) -> Path:
        """The path of a job's input file, looked up again by id when the job runs (a job never trusts a path
        from its record); InvalidInput when it was deleted since the request."""
        stored = self.get(file_id)
        if stored is None:
            raise InvalidInput(f"Input file '{file_id}' is no longer available.")
        return self.path(stored)

    def delete(self, file_id: str) -> None:
        """The record and the bytes (and any scratch of the same id); a job's file takes with it the other files
        its job made (a split's segments), so that no part of a deleted job's output is left behind."""
        made_with = self._db.execute("SELECT id FROM files WHERE source_job = ? AND id != ?", (file_id, file_id))
        for (extra_id,) in made_with:
            self._delete_one(extra_id)
        self._delete_one(file_id)

    def _delete_one(self, file_id: str) -> None:
        stored = self.get(file_id)
        self._db.execute("DELETE FROM files WHERE id = ?", (file_id,))
        self.storage.delete(file_id, stored.filename if stored else None)

    def created_before(self, timestamp: float) -> list[StoredFile]:
        return [_file(row) for row in self._db.execute(f"{_SELECT} WHERE created_at < ?", [timestamp])]

    def update(self, file_id: str, changes: dict[str, str | None]) -> None:
        """Rename (`name`) or move (`folder`, made if missing) a file: its record only, never its id or bytes."""
        if "folder" in changes:
            self.folders.ensure(changes["folder"])
        assignments = ", ".join(f"{key} = ?" for key in changes if key in ("name", "folder"))
        if assignments:
            values = [value for key, value in changes.items() if key in ("name", "folder")]
            self._db.execute(f"UPDATE files SET {assignments} WHERE id = ?", [*values, file_id])

    def items(self, where: "ItemFilter", limit: int, offset: int) -> tuple[list["Item"], int]:
        """One page of files and file-less jobs, newest first, and how many match in all."""
        clause, args = where.sql()
        rows = self._db.execute(
            f"SELECT {_ITEM_FIELDS} FROM ({_ITEMS}) WHERE {clause} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
            [*args, limit, offset],
        )
        total = self._db.execute(f"SELECT COUNT(*) FROM ({_ITEMS}) WHERE {clause}", args)[0][0]
        return [Item(*row) for row in rows], int(total)

    def item(self, file_id: str) -> "Item | None":
        rows = self._db.execute(f"SELECT {_ITEM_FIELDS} FROM ({_ITEMS}) WHERE id = ?", [file_id])
        return Item(*rows[0]) if rows else None

    def stats(self) -> "StorageStats":
        """Files and bytes in all, by media type and by folder (every folder, empty ones too); jobs by status;
        the disk that holds the storage."""
        total = self._db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM files")[0]
        by_type = self._db.execute(
            f"SELECT {_MEDIA_KIND} AS kind, COUNT(*), COALESCE(SUM(f.size), 0) FROM files f GROUP BY kind ORDER BY kind"
        )
        top = self._db.execute("SELECT NULL, COUNT(*), COALESCE(SUM(size), 0) FROM files WHERE folder IS NULL")
        in_folders = self._db.execute(
            "SELECT p.path, COUNT(f.id), COALESCE(SUM(f.size), 0) FROM folders p "
            "LEFT JOIN files f ON f.folder = p.path GROUP BY p.path ORDER BY p.path"
        )
        jobs = self._db.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status")
        disk = shutil.disk_usage(self.storage.scratch_root())
        return StorageStats(
            Tally(*total),
            [(kind, Tally(count, size)) for kind, count, size in by_type],
            [(folder, Tally(count, size)) for folder, count, size in [*top, *in_folders]],
            {str(status): int(count) for status, count in jobs},
            disk.total,
            disk.free,
        )

    def delete_folder(self, path: str, recursive: bool, jobs: Jobs) -> "FolderRemoval":
        """Delete a folder, with everything in and below it when `recursive` (files, their jobs, failed jobs);
        FolderConflict when it is not empty without `recursive`, or while a job will still put a result in it."""
        where, args = in_subtree("folder", path)
        active = self._db.execute(f"SELECT id FROM jobs WHERE status IN (?, ?) AND {where}", [*ACTIVE, *args])
        if active:
            ids = ", ".join(row[0] for row in active[:3])
            raise FolderConflict(
                f"Folder '{path}' is waiting for the result of {len(active)} queued or running job(s) ({ids}); "
                "delete it when they end."
            )
        file_ids = [row[0] for row in self._db.execute(f"SELECT id FROM files WHERE {where}", args)]
        job_ids = [row[0] for row in self._db.execute(f"SELECT id FROM jobs j WHERE {where} AND {_NO_FILE}", args)]
        below = self.folders.children(path, recursive=True)
        if not recursive and (file_ids or job_ids or below):
            raise FolderConflict(
                f"Folder '{path}' is not empty ({len(file_ids)} file(s), {len(job_ids)} failed job(s), "
                f"{len(below)} folder(s)); send recursive=true to delete it with everything in it."
            )
        for file_id in file_ids:
            self.delete(file_id)
            jobs.delete(file_id)  # a job's output has its job's id; an upload has no job
        for job_id in job_ids:
            jobs.delete(job_id)
        self.folders.remove(path)
        return FolderRemoval(len(file_ids), len(job_ids), len(below) + 1)


ACTIVE = (str(JobStatus.QUEUED), str(JobStatus.PROCESSING))
_NO_FILE = "NOT EXISTS (SELECT 1 FROM files x WHERE x.id = j.id)"
_MEDIA_KIND = (
    "CASE WHEN json_extract(f.facts, '$.media_type') IN ('image', 'video', 'audio') "
    "THEN json_extract(f.facts, '$.media_type') ELSE substr(f.media_type, 1, instr(f.media_type, '/') - 1) END"
)
"""image, video or audio, in SQL: what an upload was sniffed as, else what the MIME type says (`media_kind`)."""
_ITEMS = (
    f"SELECT f.id AS id, f.name AS name, f.filename AS filename, {_MEDIA_KIND} AS media_type, "
    "f.media_type AS content_type, f.size AS size, json_extract(f.facts, '$.duration') AS duration, "
    "f.folder AS folder, 'ready' AS status, 100.0 AS progress, NULL AS error, COALESCE(j.kind, 'upload') AS kind, "
    "f.created_at AS created_at FROM files f LEFT JOIN jobs j ON j.id = f.source_job "
    "UNION ALL "
    "SELECT j.id, j.name, NULL, NULL, NULL, NULL, NULL, j.folder, j.status, j.progress, j.error, j.kind, j.created_at "
    f"FROM jobs j WHERE j.status != 'ready' AND {_NO_FILE}"
)
"""Every stored file (ready), and every job without a file yet (queued, processing, failed) under its file id."""
_ITEM_FIELDS = (
    "id, name, filename, media_type, content_type, size, duration, folder, status, progress, error, kind, created_at"
)


@dataclass(frozen=True)
class Item:
    """A stored file, or a job that has no file yet: then `filename`, `media_type`, `content_type`, `size` and
    `duration` are None and `id` is the id its file will have."""

    id: str
    name: str | None
    filename: str | None
    media_type: str | None
    content_type: str | None
    size: int | None
    duration: float | None
    folder: str | None
    status: str
    progress: float
    error: str | None
    kind: str
    created_at: float

    @property
    def download_name(self) -> str | None:
        """What a download of it is named: `<name>.<ext>`, else the stored file name."""
        if self.filename is None:
            return None
        return f"{self.name}.{self.filename.rsplit('.', 1)[-1]}" if self.name else self.filename


@dataclass(frozen=True)
class ItemFilter:
    """What a listing keeps: `folder` None for every folder, "" for the top level only; `q`: the name contains."""

    media_type: str | None = None
    folder: str | None = None
    kind: str | None = None
    status: str | None = None
    q: str | None = None

    def sql(self) -> tuple[str, list[Any]]:
        clauses, args = ["1 = 1"], []
        for column in ("media_type", "kind", "status"):
            value = getattr(self, column)
            if value:
                clauses.append(f"{column} = ?")
                args.append(str(value))
        if self.folder == "":
            clauses.append("folder IS NULL")
        elif self.folder is not None:
            clauses.append("folder = ?")
            args.append(self.folder)
        if self.q:
            clauses.append("instr(lower(COALESCE(name, filename, '')), lower(?)) > 0")
            args.append(self.q)
        return " AND ".join(clauses), args


@dataclass(frozen=True)
class Tally:
    files: int
    bytes: int


@dataclass(frozen=True)
class StorageStats:
    total: Tally
    by_media_type: list[tuple[str, Tally]]
    by_folder: list[tuple[str | None, Tally]]
    jobs: dict[str, int]
    disk_total_bytes: int
    disk_free_bytes: int


@dataclass(frozen=True)
class FolderRemoval:
    files: int
    jobs: int
    folders: int
