"""Deletes jobs and files older than FILE_TTL_HOURS: a job's record and output, an upload's record and bytes."""

import asyncio
import logging
import time

from app.services.files import Files
from app.services.jobs import Jobs

log = logging.getLogger("app.retention")


def sweep(jobs: Jobs, files: Files, ttl_hours: float) -> int:
    """Delete what ended (jobs) or was stored (files) more than `ttl_hours` ago; returns how many records went."""
    cutoff = time.time() - ttl_hours * 3600
    expired_jobs = jobs.ended_before(cutoff)
    for job in expired_jobs:
        files.delete(job.id)
        jobs.delete(job.id)
        log.info("job %s %s expired after %.1f h: file and record deleted", job.id, job.kind, ttl_hours)
    expired_files = files.created_before(cutoff)
    for stored in expired_files:
        files.delete(stored.id)
        log.info("file %s expired after %.1f h: deleted", stored.id, ttl_hours)
    return len(expired_jobs) + len(expired_files)


async def sweep_forever(jobs: Jobs, files: Files, ttl_hours: float, every_s: float = 60.0) -> None:
    while True:
        await asyncio.to_thread(sweep, jobs, files, ttl_hours)
        await asyncio.sleep(every_s)
