"""What a file-records backend (SQLite or Redis) keeps and answers: stored files, listing items and their filter,
tallies for the stats, and the `FileRecords` Protocol that `Files` delegates every record query to."""

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from app.jobs.kinds import MEDIA_KINDS
from app.services.folders import FolderRecords
from app.services.jobs import Job, JobStatus

ACTIVE = (str(JobStatus.QUEUED), str(JobStatus.PROCESSING))
"""Job statuses of a job that will still put a result somewhere."""
UPLOAD_KIND = "upload"
"""The kind listed for a file that no (remaining) job made."""


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

    @classmethod
    def of_file(cls, stored: StoredFile, kind: str | None) -> "Item":
        """A stored file, listed as ready under the kind of the job that made it (`upload` when none)."""
        return cls(
            *(stored.id, stored.name, stored.filename, stored.media_kind, stored.media_type, stored.size),
            *(stored.facts.get("duration"), stored.folder, str(JobStatus.READY), 100.0, None),
            kind or UPLOAD_KIND,
            stored.created_at,
        )

    @classmethod
    def of_job(cls, job: Job) -> "Item":
        """A job that has no file (yet), under the id its file will have."""
        return cls(
            *(job.id, job.name, None, None, None, None, None, job.folder),
            *(str(job.status), job.progress, job.error, job.kind, job.created_at),
        )


@dataclass(frozen=True)
class ItemFilter:
    """What a listing keeps: `folder` None for every folder, "" for the top level only; `q`: the name contains."""

    media_type: str | None = None
    folder: str | None = None
    kind: str | None = None
    status: str | None = None
    q: str | None = None

    def matches(self, item: Item) -> bool:
        """The filter in Python, as the SQLite backend applies it in SQL."""
        for column in ("media_type", "kind", "status"):
            value = getattr(self, column)
            if value and getattr(item, column) != str(value):
                return False
        if self.folder is not None and item.folder != (self.folder or None):
            return False
        if self.q:
            text = item.name if item.name is not None else item.filename
            return self.q.lower() in (text or "").lower()
        return True


def in_folder_tree(folder: str | None, path: str) -> bool:
    """`folder` is `path` or lies below it (the Python twin of `folders.in_subtree`)."""
    return folder is not None and (folder == path or folder.startswith(f"{path}/"))


@dataclass(frozen=True)
class Tally:
    files: int
    bytes: int


@dataclass(frozen=True)
class RecordTallies:
    """The stats the records answer: files and bytes in all, by media kind (sorted) and by folder (the top level
    as None first, then every folder, empty ones too, sorted); jobs by status."""

    total: Tally
    by_media_type: list[tuple[str, Tally]]
    by_folder: list[tuple[str | None, Tally]]
    jobs: dict[str, int]


@dataclass(frozen=True)
class FolderContents:
    """What lies in a folder and below it: files, jobs without a file, and jobs that will still end there."""

    file_ids: list[str]
    fileless_job_ids: list[str]
    active_job_ids: list[str]


class FileRecords(Protocol):
    """The records of stored files (never their bytes), with the listing and stats that span files and jobs."""

    @property
    def folders(self) -> FolderRecords: ...
    def insert(self, stored: StoredFile) -> None: ...
    def get(self, file_id: str) -> StoredFile | None: ...
    def made_by(self, job_id: str) -> list[str]:
        """Ids of the other files the job `job_id` made (not the one with its own id)."""
        ...

    def remove(self, file_id: str) -> None: ...
    def created_before(self, timestamp: float) -> list[StoredFile]: ...
    def update(self, file_id: str, changes: dict[str, str | None]) -> None:
        """Set `name` and/or `folder` of an existing file; nothing when it is gone."""
        ...

    def items(self, where: ItemFilter, limit: int, offset: int) -> tuple[list[Item], int]: ...
    def item(self, item_id: str) -> Item | None: ...
    def tallies(self) -> RecordTallies: ...
    def folder_contents(self, path: str) -> FolderContents: ...
