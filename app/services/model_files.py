"""Model files made once on disk (joined from package parts, rewritten graphs): written atomically and checked.

A file is written to a temporary name beside its target, flushed to disk, then renamed over the target, so a
reader sees the old file or the whole new one, never a half-written one, even after a crash or power loss.
"""

import hashlib
import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

BLOCK = 1 << 20


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file, read block by block."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomically(target: Path, chunks: Iterable[bytes]) -> str:
    """Write `chunks` to `target` (temp file, fsync, rename, fsync of the folder); the sha256 of what was written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_native_id()}.tmp")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_folder(target.parent)
    return digest.hexdigest()


def join_files(target: Path, sources: Sequence[Path]) -> str:
    """`sources` concatenated into `target`, atomically; the sha256 of the result."""
    return write_atomically(target, _blocks(sources))


def _blocks(sources: Sequence[Path]) -> Iterable[bytes]:
    for source in sources:
        with source.open("rb") as file:
            yield from iter(lambda: file.read(BLOCK), b"")


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
