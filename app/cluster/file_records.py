"""File records in Redis (`RedisFileRecords`, the `FileRecords` Protocol): one hash per file, indexed by creation
and by the job that made it; the listing and stats read every record in a pipeline and filter in Python."""

from collections import Counter
from dataclasses import dataclass
from typing import Any, cast

import redis
from redis.client import Pipeline

from app.cluster.folder_records import RedisFolders
from app.cluster.job_records import all_jobs, job_from
from app.cluster.record_layout import (
    FILES,
    below,
    decode,
    encode,
    fetch_hashes,
    file_key,
    job_key,
    made_by_key,
    members,
    scored,
    write_if_present,
)
from app.services.file_records import (
    ACTIVE,
    FolderContents,
    Item,
    ItemFilter,
    RecordTallies,
    StoredFile,
    Tally,
    in_folder_tree,
)
from app.services.jobs import Job, JobStatus

FIELDS = tuple(StoredFile.__dataclass_fields__)
EDITABLE = ("name", "folder")


def file_from(fields: dict[str, str]) -> StoredFile:
    values = decode(fields, FIELDS)
    values["facts"] = values.get("facts") or {}
    values["size"] = int(values["size"])
    values["created_at"] = float(values["created_at"])
    return StoredFile(**values)


def load_files(client: redis.Redis, file_ids: list[str]) -> list[StoredFile]:
    """The files of `file_ids` that still exist, in that order."""
    return [file_from(fields) for fields in fetch_hashes(client, [file_key(file_id) for file_id in file_ids]) if fields]


@dataclass(frozen=True)
class Snapshot:
    """Every job (read first: a job that ends meanwhile is then seen with its file, never as neither) and file."""

    jobs: dict[str, Job]
    files: list[StoredFile]

    @classmethod
    def read(cls, client: redis.Redis) -> "Snapshot":
        jobs = {job.id: job for job in all_jobs(client)}
        return cls(jobs, load_files(client, members(client, FILES)))

    def file_item(self, stored: StoredFile) -> Item:
        maker = self.jobs.get(stored.source_job) if stored.source_job else None
        return Item.of_file(stored, maker.kind if maker else None)

    def items(self) -> list[Item]:
        """Every file (ready) and every job without a file that is not ready, newest first."""
        file_ids = {stored.id for stored in self.files}
        items = [self.file_item(stored) for stored in self.files]
        items += [
            Item.of_job(job) for job in self.jobs.values() if job.status != JobStatus.READY and job.id not in file_ids
        ]
        return sorted(items, key=lambda item: (item.created_at, item.id), reverse=True)


class RedisFileRecords:
    """File records shared by every node of the cluster (the bytes are the `FileStorage`'s)."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._folders = RedisFolders(client)

    @property
    def folders(self) -> RedisFolders:
        return self._folders

    def insert(self, stored: StoredFile) -> None:
        """The record with its index entries in one MULTI/EXEC."""
        pipe = self._client.pipeline()
        pipe.delete(file_key(stored.id))
        pipe.hset(file_key(stored.id), mapping=encode({name: getattr(stored, name) for name in FIELDS}))
        pipe.zadd(FILES, {stored.id: stored.created_at})
        if stored.source_job:
            pipe.sadd(made_by_key(stored.source_job), stored.id)
        pipe.execute()

    def get(self, file_id: str) -> StoredFile | None:
        found = load_files(self._client, [file_id])
        return found[0] if found else None

    def made_by(self, job_id: str) -> list[str]:
        made = cast(set[str], self._client.smembers(made_by_key(job_id)))
        return sorted(made - {job_id})

    def remove(self, file_id: str) -> None:
        def write(pipe: Pipeline, current: dict[str, Any]) -> None:
            pipe.delete(file_key(file_id))
            pipe.zrem(FILES, file_id)
            if current.get("source_job"):
                pipe.srem(made_by_key(current["source_job"]), file_id)

        write_if_present(self._client, file_key(file_id), ["source_job"], write)

    def created_before(self, timestamp: float) -> list[StoredFile]:
        return load_files(self._client, scored(self._client, FILES, "-inf", below(timestamp)))

    def update(self, file_id: str, changes: dict[str, str | None]) -> None:
        known = {key: value for key, value in changes.items() if key in EDITABLE}
        if not known:
            return

        def write(pipe: Pipeline, _: dict[str, Any]) -> None:
            pipe.hset(file_key(file_id), mapping=encode(known))

        write_if_present(self._client, file_key(file_id), [], write)

    def items(self, where: ItemFilter, limit: int, offset: int) -> tuple[list[Item], int]:
        kept = [item for item in Snapshot.read(self._client).items() if where.matches(item)]
        return kept[offset : offset + max(limit, 0)], len(kept)

    def item(self, item_id: str) -> Item | None:
        found = fetch_hashes(self._client, [file_key(item_id), job_key(item_id)])
        stored, job = (file_from(found[0]) if found[0] else None), (job_from(found[1]) if found[1] else None)
        if stored is not None:
            return Item.of_file(stored, self._kind_of(stored.source_job))
        if job is not None and job.status != JobStatus.READY:
            return Item.of_job(job)
        return None

    def _kind_of(self, job_id: str | None) -> str | None:
        """The kind of the job that made a file, while that job exists."""
        found = fetch_hashes(self._client, [job_key(job_id)])[0] if job_id else None
        return job_from(found).kind if found else None

    def tallies(self) -> RecordTallies:
        snapshot, folders = Snapshot.read(self._client), self._folders.created()
        files: Counter[str | None] = Counter()
        size: Counter[str | None] = Counter()
        kinds: dict[str, list[int]] = {}
        for stored in snapshot.files:
            files[stored.folder] += 1
            size[stored.folder] += stored.size
            kinds.setdefault(stored.media_kind, []).append(stored.size)
        statuses = Counter(str(job.status) for job in snapshot.jobs.values())
        return RecordTallies(
            Tally(len(snapshot.files), sum(stored.size for stored in snapshot.files)),
            [(kind, Tally(len(sizes), sum(sizes))) for kind, sizes in sorted(kinds.items())],
            [(folder, Tally(files[folder], size[folder])) for folder in [None, *sorted(folders)]],
            dict(sorted(statuses.items())),
        )

    def folder_contents(self, path: str) -> FolderContents:
        snapshot = Snapshot.read(self._client)
        all_file_ids = {stored.id for stored in snapshot.files}
        jobs_here = [job for job in snapshot.jobs.values() if in_folder_tree(job.folder, path)]
        return FolderContents(
            [stored.id for stored in snapshot.files if in_folder_tree(stored.folder, path)],
            [job.id for job in jobs_here if job.id not in all_file_ids],
            [job.id for job in jobs_here if job.status in ACTIVE],
        )
