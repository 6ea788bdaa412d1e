"""Stored files: a record in the `files` table (name, media type, size, facts, source job) and its bytes in storage.

An upload creates a file and no job; a job that ends ready creates its output file under the job's id.
"""

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.services.database import Database
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


_COLUMNS = ("id", "filename", "media_type", "size", "name", "facts", "source_job", "created_at")
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

    def add(
        self,
        file_id: str,
        produced: Path,
        ext: str,
        name: str | None,
        facts: dict[str, Any],
        source_job: str | None = None,
    ) -> StoredFile:
        """Move a finished file into storage atomically, then record it."""
        size = produced.stat().st_size
        filename = self.storage.commit(file_id, produced, ext)
        media_type = MEDIA_TYPES.get(ext, "application/octet-stream")
        stored = StoredFile(file_id, filename, media_type, size, name, facts, source_job)
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

    def delete(self, file_id: str) -> None:
        """The record and the bytes (and any scratch of the same id)."""
        stored = self.get(file_id)
        self._db.execute("DELETE FROM files WHERE id = ?", (file_id,))
        self.storage.delete(file_id, stored.filename if stored else None)

    def created_before(self, timestamp: float) -> list[StoredFile]:
        return [_file(row) for row in self._db.execute(f"{_SELECT} WHERE created_at < ?", [timestamp])]
