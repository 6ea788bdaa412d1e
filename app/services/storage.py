"""File storage behind a small interface; the local backend keeps files under STORAGE_PATH."""

import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Protocol

from app.errors import NotFound

_ID = re.compile(r"^[0-9a-f]{32}$")

MEDIA_TYPES = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "flac": "audio/flac",
    "aac": "audio/aac",
    "pcm": "audio/pcm",
    "mp4": "video/mp4",
    "png": "image/png",
    "jpg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "mov": "video/quicktime",
    "webm": "video/webm",
    "mkv": "video/x-matroska",
    "m4a": "audio/mp4",
    "ogg": "audio/ogg",
    "json": "application/json",
    "srt": "application/x-subrip",
    "vtt": "text/vtt",
    "txt": "text/plain",
    "zip": "application/zip",
}


def new_file_id() -> str:
    return uuid.uuid4().hex


def check_file_id(file_id: str) -> str:
    """Ids are server-made hex; anything else (paths, `..`, encodings) is simply not found."""
    if not _ID.match(file_id):
        raise NotFound(f"No file with id '{file_id[:64]}'.")
    return file_id


class FileStorage(Protocol):
    def work_dir(self, file_id: str) -> Path:
        """A private scratch directory for a job's temporary files."""
        ...

    def commit(self, file_id: str, produced: Path, ext: str) -> str:
        """Move a finished file into storage atomically; returns its stored name."""
        ...

    def path(self, filename: str) -> Path:
        """A local path to read a stored file from."""
        ...

    def size(self, filename: str) -> int:
        """Bytes of a stored file, 0 when it is gone."""
        ...

    def delete(self, file_id: str, filename: str | None) -> None: ...

    def discard_work(self, file_id: str) -> None:
        """Remove a job's scratch directory, finished or not."""
        ...

    def scratch_root(self) -> Path:
        """Where short-lived scratch files of requests may go."""
        ...

    def clear_scratch(self) -> None: ...


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.files = self.root / "files"
        self.tmp = self.root / "tmp"
        self.files.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    def work_dir(self, file_id: str) -> Path:
        directory = self.tmp / check_file_id(file_id)
        directory.mkdir(parents=True, exist_ok=True)
        return directory

    def commit(self, file_id: str, produced: Path, ext: str) -> str:
        filename = f"{check_file_id(file_id)}.{ext}"
        os.replace(produced, self.files / filename)
        self.discard_work(file_id)
        return filename

    def scratch_root(self) -> Path:
        return self.tmp

    def discard_work(self, file_id: str) -> None:
        shutil.rmtree(self.tmp / check_file_id(file_id), ignore_errors=True)

    def path(self, filename: str) -> Path:
        path = (self.files / filename).resolve()
        if path.parent != self.files or not path.is_file():
            raise NotFound("The file is no longer in storage.")
        return path

    def size(self, filename: str) -> int:
        """Bytes of a stored file, 0 when it is gone."""
        path = self.files / Path(filename).name
        return path.stat().st_size if path.is_file() else 0

    def delete(self, file_id: str, filename: str | None) -> None:
        self.discard_work(file_id)
        if filename:
            (self.files / Path(filename).name).unlink(missing_ok=True)

    def clear_scratch(self) -> None:
        """Scratch left by a previous process is never a finished file: remove it."""
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp.mkdir(parents=True, exist_ok=True)
