"""Stored files: a record (name, media type, size, facts, source job, folder) kept by a `FileRecords` backend and
its bytes in a `FileStorage`; the listing of files and file-less jobs, and the storage's stats.

An upload creates a file and no job; a job that ends ready creates its output file under the job's id. A file's
folder is metadata: moving a file changes its record, never its id or where its bytes are.
"""

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.errors import InvalidInput
from app.services.file_records import (
    FileRecords,
    Item,
    ItemFilter,
    StoredFile,
    Tally,
)
from app.services.folders import FolderConflict, FolderRecords
from app.services.jobs import Jobs
from app.services.storage import MEDIA_TYPES, FileStorage

__all__ = [
    "FileRecords",
    "Files",
    "FolderRemoval",
    "Item",
    "ItemFilter",
    "StorageStats",
    "StoredFile",
    "Tally",
]


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


class Files:
    """File records and their bytes together: a record exists only for bytes already committed."""

    def __init__(self, records: FileRecords, storage: FileStorage) -> None:
        self.records = records
        self.storage = storage

    @property
    def folders(self) -> FolderRecords:
        return self.records.folders

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
        self.records.insert(stored)
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        return self.records.get(file_id)

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
        for extra_id in self.records.made_by(file_id):
            self._delete_one(extra_id)
        self._delete_one(file_id)

    def _delete_one(self, file_id: str) -> None:
        stored = self.get(file_id)
        self.records.remove(file_id)
        self.storage.delete(file_id, stored.filename if stored else None)

    def created_before(self, timestamp: float) -> list[StoredFile]:
        return self.records.created_before(timestamp)

    def update(self, file_id: str, changes: dict[str, str | None]) -> None:
        """Rename (`name`) or move (`folder`, made if missing) a file: its record only, never its id or bytes."""
        if "folder" in changes:
            self.folders.ensure(changes["folder"])
        self.records.update(file_id, changes)

    def items(self, where: ItemFilter, limit: int, offset: int) -> tuple[list[Item], int]:
        """One page of files and file-less jobs, newest first, and how many match in all."""
        return self.records.items(where, limit, offset)

    def item(self, file_id: str) -> Item | None:
        return self.records.item(file_id)

    def stats(self) -> StorageStats:
        """Files and bytes in all, by media type and by folder (every folder, empty ones too); jobs by status;
        the disk that holds the storage."""
        tallies = self.records.tallies()
        disk = shutil.disk_usage(self.storage.scratch_root())
        return StorageStats(
            tallies.total, tallies.by_media_type, tallies.by_folder, tallies.jobs, disk.total, disk.free
        )

    def delete_folder(self, path: str, recursive: bool, jobs: Jobs) -> FolderRemoval:
        """Delete a folder, with everything in and below it when `recursive` (files, their jobs, failed jobs);
        FolderConflict when it is not empty without `recursive`, or while a job will still put a result in it."""
        contents = self.records.folder_contents(path)
        active = contents.active_job_ids
        if active:
            raise FolderConflict(
                f"Folder '{path}' is waiting for the result of {len(active)} queued or running job(s) "
                f"({', '.join(active[:3])}); delete it when they end."
            )
        file_ids, job_ids = contents.file_ids, contents.fileless_job_ids
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
