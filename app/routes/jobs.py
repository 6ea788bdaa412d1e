"""The list of jobs, for people and for automations that lost track of an id."""

from typing import Literal

from fastapi import APIRouter, Depends, Query

from app.deps import get_store
from app.routes.responses import job_status
from app.services.jobs import JobStore

router = APIRouter(prefix="/api/v1/media", tags=["jobs"])


@router.get("/jobs")
async def list_jobs(
    status: Literal["queued", "processing", "ready", "failed"] | None = None,
    kind: str | None = Query(None, max_length=32),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=2**62),
    store: JobStore = Depends(get_store),
) -> dict:
    jobs = store.list_jobs(status, kind, limit, offset)
    return {"jobs": [job_status(job) for job in jobs], "limit": limit, "offset": offset}
