"""Folders: paths like `reports/2024` that files and job results are filed under (metadata only: the bytes of a
file never move), and the `folders` table that keeps them, empty ones included.

Every folder path a client sends goes through `check_folder`, the one place that says what a folder may be.
"""

import time
import unicodedata
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote

from app.errors import DomainError, InvalidInput
from app.services.database import Database

MAX_FOLDER_CHARS = 255
MAX_SEGMENT_CHARS = 100
MAX_DEPTH = 16
MAX_NAME_CHARS = 200
FORBIDDEN = {"\\": "backslashes", "?": "'?'", "#": "'#'"}
"""Characters refused in a folder: a backslash is a separator elsewhere; '?' and '#' end a URL path."""
ROOT_ALIASES = ("", "/")
"""What a listing filter may send for the top level (no folder)."""


class FolderConflict(DomainError):
    """A folder cannot be deleted now: it is not empty, or a job will still put its result in it."""

    status_code = 409


def _has_control(text: str) -> bool:
    """Control, format (invisible or bidirectional marks), surrogate, private or unassigned characters."""
    return any(unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn") for char in text)


def _check_segment(segment: str, field: str) -> None:
    if not segment:
        raise InvalidInput(f"Field '{field}': empty folder names ('//' or a trailing '/') are not allowed.")
    if segment in (".", ".."):
        raise InvalidInput(f"Field '{field}': '{segment}' is not a folder name; '.' and '..' are not allowed.")
    if segment != segment.strip():
        raise InvalidInput(f"Field '{field}': folder '{segment}' must not start or end with a space.")
    if len(segment) > MAX_SEGMENT_CHARS:
        raise InvalidInput(f"Field '{field}': a folder name is at most {MAX_SEGMENT_CHARS} characters.")


def check_folder(value: str | None, field: str = "folder") -> str | None:
    """A folder path as stored (`a/b`, NFC), or None for the top level (None or blank); InvalidInput naming
    `field` for an absolute path, `..` or `.`, empty segments, backslashes, control characters, percent-escapes
    (`%2e%2e`: a folder name is never URL-decoded again) or a path that is too long or too deep."""
    if value is None or not value.strip():
        return None
    path = unicodedata.normalize("NFC", value.strip())
    if path.startswith("/"):
        raise InvalidInput(f"Field '{field}': '{path[:64]}' is an absolute path; give a folder like 'reports/2024'.")
    if _has_control(path):
        raise InvalidInput(f"Field '{field}': control or invisible characters are not allowed in a folder.")
    for char, what in FORBIDDEN.items():
        if char in path:
            raise InvalidInput(f"Field '{field}': {what} are not allowed in a folder; separate folders with '/'.")
    if unquote(path) != path:
        raise InvalidInput(f"Field '{field}': percent-encoded characters (like %2e) are not allowed in a folder.")
    if len(path) > MAX_FOLDER_CHARS:
        raise InvalidInput(f"Field '{field}': a folder path is at most {MAX_FOLDER_CHARS} characters.")
    segments = path.split("/")
    if len(segments) > MAX_DEPTH:
        raise InvalidInput(f"Field '{field}': folders nest at most {MAX_DEPTH} deep.")
    for segment in segments:
        _check_segment(segment, field)
    return path


def folder_filter(value: str | None, field: str = "folder") -> str | None:
    """A listing's folder filter: None for every folder, "" for the top level only ('' or '/'), else a folder."""
    if value is None:
        return None
    if value.strip() in ROOT_ALIASES:
        return ""
    return check_folder(value, field) or ""


def check_file_name(value: str | None, field: str = "name") -> str | None:
    """A file's display name (downloads are named `<name>.<ext>`); None when blank."""
    if value is None or not value.strip():
        return None
    name = unicodedata.normalize("NFC", value.strip())
    if _has_control(name) or "/" in name or "\\" in name:
        raise InvalidInput(f"Field '{field}': a name has no '/', '\\' or control characters.")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidInput(f"Field '{field}': a name is at most {MAX_NAME_CHARS} characters.")
    return name


def parent_of(path: str) -> str | None:
    return path.rsplit("/", 1)[0] if "/" in path else None


def lineage(path: str) -> list[str]:
    """The folder and every folder above it, outermost first: `a/b/c` → a, a/b, a/b/c."""
    segments = path.split("/")
    return ["/".join(segments[: depth + 1]) for depth in range(len(segments))]


IN_SUBTREE = "({column} = ? OR substr({column}, 1, length(?) + 1) = ? || '/')"
"""SQL: `column` is the folder or lies below it (no LIKE: folder names may hold '%' and '_')."""


def in_subtree(column: str, path: str) -> tuple[str, list[Any]]:
    return IN_SUBTREE.format(column=column), [path, path, path]


@dataclass(frozen=True)
class Folder:
    """A folder with what lies directly in it."""

    path: str
    created_at: float
    file_count: int
    bytes: int
    folder_count: int

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def parent(self) -> str | None:
        return parent_of(self.path)


class FolderRecords(Protocol):
    """Every folder that exists, empty ones included (SQLite: `Folders`; Redis: `app.cluster.folder_records`)."""

    def ensure(self, path: str | None) -> None:
        """The folder and every folder above it exist afterwards (like `mkdir -p`)."""
        ...

    def create(self, path: str) -> bool:
        """`ensure`, saying whether the folder itself is new."""
        ...

    def get(self, path: str) -> Folder | None: ...
    def children(self, parent: str | None, recursive: bool = False) -> list[Folder]:
        """The folders directly under `parent` (None: the top level), or all below it with `recursive`, by path."""
        ...

    def remove(self, path: str) -> None:
        """The folder and every folder below it (their files are the caller's business)."""
        ...


_FOLDER_SELECT = (
    "SELECT p.path, p.created_at, "
    "(SELECT COUNT(*) FROM files f WHERE f.folder = p.path), "
    "(SELECT COALESCE(SUM(f.size), 0) FROM files f WHERE f.folder = p.path), "
    "(SELECT COUNT(*) FROM folders c WHERE c.parent = p.path) "
    "FROM folders p"
)


class Folders:
    """The `folders` table: every folder that exists, with its parent; a file's folder always has a row here."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def ensure(self, path: str | None) -> None:
        """The folder and every folder above it exist afterwards (like `mkdir -p`)."""
        if path is None:
            return
        now = time.time()
        with self._db.transaction() as db:
            for folder in lineage(path):
                db.execute(
                    "INSERT OR IGNORE INTO folders (path, parent, created_at) VALUES (?, ?, ?)",
                    (folder, parent_of(folder), now),
                )

    def create(self, path: str) -> bool:
        """`ensure`, saying whether the folder itself is new."""
        existed = self.get(path) is not None
        self.ensure(path)
        return not existed

    def get(self, path: str) -> Folder | None:
        rows = self._db.execute(f"{_FOLDER_SELECT} WHERE p.path = ?", (path,))
        return Folder(*rows[0]) if rows else None

    def children(self, parent: str | None, recursive: bool = False) -> list[Folder]:
        """The folders directly under `parent` (None: the top level), or all below it with `recursive`."""
        if recursive and parent is not None:
            where, args = in_subtree("p.path", parent)
            rows = self._db.execute(f"{_FOLDER_SELECT} WHERE {where} AND p.path != ? ORDER BY p.path", [*args, parent])
        elif recursive:
            rows = self._db.execute(f"{_FOLDER_SELECT} ORDER BY p.path")
        else:
            rows = self._db.execute(f"{_FOLDER_SELECT} WHERE p.parent IS ? ORDER BY p.path", (parent,))
        return [Folder(*row) for row in rows]

    def remove(self, path: str) -> None:
        """The folder and every folder below it (their files are the caller's business)."""
        where, args = in_subtree("path", path)
        self._db.execute(f"DELETE FROM folders WHERE {where}", args)
