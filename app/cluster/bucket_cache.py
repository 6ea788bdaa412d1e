"""A node's local copies of bucket files, bounded in bytes: the least recently used go first.

A file's modification time is its last use (set on every hit), so that several processes of one node sharing
the directory agree on the order. Copies appear whole (a temporary name, then `os.replace`), so two threads
fetching the same file at once both end with a complete copy.
"""

import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path


class LocalCache:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        root.mkdir(parents=True, exist_ok=True)

    def hit(self, filename: str, size: int) -> Path | None:
        """The cached copy of `filename`, marked as just used; None when there is none of `size` bytes."""
        path = self._path(filename)
        try:
            os.utime(path)
            return path if path.stat().st_size == size else None
        except FileNotFoundError:
            return None

    def fill(self, filename: str, write: Callable[[Path], object]) -> Path:
        """`write(temporary_path)` makes the copy; it is then put in place whole, and older copies are evicted."""
        temporary = self._temporary(filename)
        try:
            write(temporary)
            os.utime(temporary)
            os.replace(temporary, self._path(filename))
        finally:
            temporary.unlink(missing_ok=True)
        self.evict(keep=filename)
        return self._path(filename)

    def adopt(self, filename: str, source: Path) -> Path:
        """Move a finished local file into the cache (the node that made it serves it without a download)."""
        return self.fill(filename, lambda temporary: shutil.move(source, temporary))

    def remove(self, filename: str) -> None:
        self._path(filename).unlink(missing_ok=True)

    def size(self) -> int:
        return sum(size for _, size, _ in self._entries())

    def evict(self, keep: str) -> None:
        """Remove the least recently used copies until the cache fits its bound; `keep` is never removed."""
        entries = sorted(self._entries(), key=lambda entry: entry[2])
        total = sum(size for _, size, _ in entries)
        for name, size, _ in entries:
            if total <= self.max_bytes:
                return
            if name != keep:
                (self.root / name).unlink(missing_ok=True)
                total -= size

    def _entries(self) -> list[tuple[str, int, float]]:
        """(name, bytes, last use) of every finished copy; temporary names start with a dot."""
        entries = []
        with os.scandir(self.root) as scan:
            for entry in scan:
                if entry.name.startswith("."):
                    continue
                try:
                    stat = entry.stat()
                except FileNotFoundError:
                    continue
                entries.append((entry.name, stat.st_size, stat.st_mtime))
        return entries

    def _path(self, filename: str) -> Path:
        """Where the copy of `filename` lives; only a plain name (no folder, no dot first) is a cache entry."""
        if not filename or filename.startswith(".") or Path(filename).name != filename:
            raise ValueError(f"not a cache entry name: {filename[:64]!r}")
        return self.root / filename

    def _temporary(self, filename: str) -> Path:
        return self._path(filename).with_name(f".{filename}.{uuid.uuid4().hex}.part")
