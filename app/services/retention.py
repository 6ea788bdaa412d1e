"""Deletes generated files older than FILE_TTL_HOURS, with their records."""

import asyncio
import logging
import time

from app.services.jobs import JobStore
from app.services.storage import FileStorage

log = logging.getLogger("app.retention")


def sweep(store: JobStore, storage: FileStorage, ttl_hours: float) -> int:
    expired = store.ended_before(time.time() - ttl_hours * 3600)
    for job in expired:
        storage.delete(job.id, job.filename)
        store.delete(job.id)
        log.info("job %s %s expired after %.1f h: file and record deleted", job.id, job.kind, ttl_hours)
    return len(expired)


async def sweep_forever(store: JobStore, storage: FileStorage, ttl_hours: float, every_s: float = 60.0) -> None:
    while True:
        await asyncio.to_thread(sweep, store, storage, ttl_hours)
        await asyncio.sleep(every_s)
