"""Job records in Redis (`RedisJobs`, the `Jobs` Protocol): one hash per job and sorted-set indexes by creation,
unfinished, ended and identical request, each written in the same MULTI/EXEC as the job."""

from collections.abc import Sequence
from typing import Any

import redis
from redis.client import Pipeline

from app.cluster.record_layout import (
    ENDED,
    JOBS,
    UNFINISHED,
    below,
    decode,
    dedup_index,
    encode,
    fetch_hashes,
    job_key,
    members,
    scored,
    write_if_present,
)
from app.services.file_records import ACTIVE
from app.services.jobs import Job, JobStatus

FIELDS = tuple(Job.__dataclass_fields__)
_FLOATS = ("progress", "created_at", "started_at", "finished_at")


def job_from(fields: dict[str, str]) -> Job:
    values = decode(fields, FIELDS)
    values["status"] = JobStatus(values.get("status", JobStatus.QUEUED))
    values["params"] = values.get("params") or {}
    for name in _FLOATS:
        if values.get(name) is not None:
            values[name] = float(values[name])
    return Job(**values)


def load_jobs(client: redis.Redis, job_ids: Sequence[str]) -> list[Job]:
    """The jobs of `job_ids` that still exist, in that order."""
    return [job_from(fields) for fields in fetch_hashes(client, [job_key(job_id) for job_id in job_ids]) if fields]


def all_jobs(client: redis.Redis) -> list[Job]:
    """Every job, oldest first."""
    return load_jobs(client, members(client, JOBS))


def _index_status(pipe: Pipeline, job_id: str, status: str, created_at: float) -> None:
    if str(status) in ACTIVE:
        pipe.zadd(UNFINISHED, {job_id: created_at})
    else:
        pipe.zrem(UNFINISHED, job_id)


def _index_finished(pipe: Pipeline, job_id: str, finished_at: float | None) -> None:
    if finished_at is None:
        pipe.zrem(ENDED, job_id)
    else:
        pipe.zadd(ENDED, {job_id: finished_at})


class RedisJobs:
    """The jobs of every node of the cluster; every transition lands at once with its indexes."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client

    def create(self, job: Job) -> None:
        """The job with its index entries in one MULTI/EXEC (a record of the same id is replaced whole)."""
        pipe = self._client.pipeline()
        pipe.delete(job_key(job.id))
        pipe.hset(job_key(job.id), mapping=encode({name: getattr(job, name) for name in FIELDS}))
        pipe.zadd(JOBS, {job.id: job.created_at})
        _index_status(pipe, job.id, job.status, job.created_at)
        _index_finished(pipe, job.id, job.finished_at)
        if job.dedup_key:
            pipe.zadd(dedup_index(job.dedup_key), {job.id: job.created_at})
        pipe.execute()

    def get(self, job_id: str) -> Job | None:
        found = fetch_hashes(self._client, [job_key(job_id)])[0]
        return job_from(found) if found else None

    def update(self, job_id: str, **fields: Any) -> None:
        """Set only the given fields (a job that is gone stays gone); TypeError on a field a job does not have."""
        unknown = set(fields) - set(FIELDS)
        if unknown:
            raise TypeError(f"unknown job fields: {sorted(unknown)}")
        if not fields:
            return

        def write(pipe: Pipeline, current: dict[str, Any]) -> None:
            created_at = float(fields.get("created_at", current["created_at"]))
            pipe.hset(job_key(job_id), mapping=encode(fields))
            if "created_at" in fields:
                pipe.zadd(JOBS, {job_id: created_at})
                pipe.zadd(UNFINISHED, {job_id: created_at}, xx=True)
            if "status" in fields:
                _index_status(pipe, job_id, fields["status"], created_at)
            if "finished_at" in fields:
                _index_finished(pipe, job_id, fields["finished_at"])
            old_key, new_key = current.get("dedup_key"), fields.get("dedup_key", current.get("dedup_key"))
            if old_key and old_key != new_key:
                pipe.zrem(dedup_index(old_key), job_id)
            if new_key and ("dedup_key" in fields or "created_at" in fields):
                pipe.zadd(dedup_index(new_key), {job_id: created_at})

        write_if_present(self._client, job_key(job_id), ["created_at", "dedup_key"], write)

    def delete(self, job_id: str) -> None:
        def write(pipe: Pipeline, current: dict[str, Any]) -> None:
            pipe.delete(job_key(job_id))
            for index in (JOBS, UNFINISHED, ENDED):
                pipe.zrem(index, job_id)
            if current.get("dedup_key"):
                pipe.zrem(dedup_index(current["dedup_key"]), job_id)

        write_if_present(self._client, job_key(job_id), ["dedup_key"], write)

    def recent(self, status: JobStatus | None, kind: str | None, limit: int, offset: int) -> list[Job]:
        """Newest first; one page read straight from the index when nothing is filtered."""
        if limit <= 0:
            return []
        if not status and not kind:
            return load_jobs(self._client, members(self._client, JOBS, True, offset, offset + limit - 1))
        newest_first = load_jobs(self._client, members(self._client, JOBS, reverse=True))
        kept = [
            job for job in newest_first if (not status or job.status == str(status)) and (not kind or job.kind == kind)
        ]
        return kept[offset : offset + limit]

    def unfinished(self) -> list[Job]:
        """Queued and processing jobs, oldest first."""
        jobs = load_jobs(self._client, members(self._client, UNFINISHED))
        return [job for job in jobs if job.status in ACTIVE]

    def ended_before(self, timestamp: float) -> list[Job]:
        return load_jobs(self._client, scored(self._client, ENDED, "-inf", below(timestamp)))

    def reusable(self, dedup_key: str, since: float) -> Job | None:
        """The newest job made by an identical request since `since` that did not fail (deleted ones are gone)."""
        candidates = scored(self._client, dedup_index(dedup_key), repr(since), "+inf", reverse=True)
        for job in load_jobs(self._client, candidates):
            if job.status != JobStatus.FAILED and job.dedup_key == dedup_key:
                return job
        return None
