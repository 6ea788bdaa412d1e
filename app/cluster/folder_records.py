"""Folder records in Redis (`RedisFolders`, the `FolderRecords` Protocol): one hash of every folder path, with
what lies directly in each counted from the file records."""

import json
import time
from collections import Counter
from typing import cast

import redis
from redis.client import Pipeline

from app.cluster.record_layout import FILES, FOLDERS, fetch_fields, file_key, members
from app.services.file_records import in_folder_tree
from app.services.folders import Folder, lineage, parent_of


def file_placements(client: redis.Redis) -> list[tuple[str | None, int]]:
    """The folder and size of every stored file."""
    keys = [file_key(file_id) for file_id in members(client, FILES)]
    placed = []
    for folder, size in fetch_fields(client, keys, ["folder", "size"]):
        if size is not None:
            placed.append((json.loads(folder) if folder else None, int(json.loads(size))))
    return placed


class RedisFolders:
    """Every folder of the cluster, empty ones included; a file's folder always has an entry here."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client

    def ensure(self, path: str | None) -> None:
        """The folder and every folder above it exist afterwards (like `mkdir -p`)."""
        self._ensure(path)

    def _ensure(self, path: str | None) -> list[bool]:
        """Whether each folder of the lineage is new, outermost first."""
        if path is None:
            return []
        now = json.dumps(time.time())
        pipe = self._client.pipeline()
        for folder in lineage(path):
            pipe.hsetnx(FOLDERS, folder, now)
        return [bool(made) for made in pipe.execute()]

    def create(self, path: str) -> bool:
        """`ensure`, saying whether the folder itself is new."""
        return self._ensure(path)[-1]

    def created(self) -> dict[str, float]:
        """Every folder path and when it was made."""
        found = cast(dict[str, str], self._client.hgetall(FOLDERS))
        return {path: float(json.loads(raw)) for path, raw in found.items()}

    def get(self, path: str) -> Folder | None:
        folders = self.created()
        return self._described([path], folders)[0] if path in folders else None

    def children(self, parent: str | None, recursive: bool = False) -> list[Folder]:
        """The folders directly under `parent` (None: the top level), or all below it with `recursive`, by path."""
        folders = self.created()
        if recursive and parent is not None:
            paths = [path for path in folders if in_folder_tree(path, parent) and path != parent]
        elif recursive:
            paths = list(folders)
        else:
            paths = [path for path in folders if parent_of(path) == parent]
        return self._described(sorted(paths), folders)

    def remove(self, path: str) -> None:
        """The folder and every folder below it (their files are the caller's business)."""
        with self._client.pipeline() as pipe:
            while True:
                try:
                    self._remove_watched(pipe, path)
                    return
                except redis.WatchError:
                    continue

    def _remove_watched(self, pipe: Pipeline, path: str) -> None:
        pipe.watch(FOLDERS)  # type: ignore[no-untyped-call]
        paths = [folder for folder in cast(list[str], pipe.hkeys(FOLDERS)) if in_folder_tree(folder, path)]
        pipe.multi()
        if paths:
            pipe.hdel(FOLDERS, *paths)
        pipe.execute()

    def _described(self, paths: list[str], folders: dict[str, float]) -> list[Folder]:
        """`paths` with their files, bytes and subfolders counted."""
        files: Counter[str | None] = Counter()
        size: Counter[str | None] = Counter()
        for folder, bytes_ in file_placements(self._client):
            files[folder] += 1
            size[folder] += bytes_
        subfolders: Counter[str | None] = Counter(parent_of(path) for path in folders)
        return [Folder(path, folders[path], files[path], size[path], subfolders[path]) for path in paths]
