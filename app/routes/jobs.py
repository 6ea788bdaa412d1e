"""The list of jobs, for people and for automations that lost track of an id."""

from fastapi import APIRouter, Query

from app.deps import JobsDep
from app.routes.models import JobList
from app.routes.responses import record_status
from app.services.inputs import Record
from app.services.jobs import JobStatus

router = APIRouter(prefix="/api/v1/media", tags=["jobs"])


@router.get("/jobs", response_model=JobList, response_model_exclude_unset=True)
async def list_jobs(
    jobs: JobsDep,
    status: JobStatus | None = None,
    kind: str | None = Query(None, max_length=32),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=2**62),
) -> JobList:
    found = jobs.recent(status, kind, limit, offset)
    return JobList(jobs=[record_status(Record(job.id, job, None)) for job in found], limit=limit, offset=offset)
