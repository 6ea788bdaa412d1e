"""Response shapes shared by the routers."""

from fastapi import Request
from fastapi.responses import JSONResponse

from app.services.jobs import Job


def file_urls(request: Request, file_id: str) -> dict:
    base = str(request.base_url).rstrip("/")
    return {
        "status_url": f"{base}/api/v1/media/storage/{file_id}/status",
        "download_url": f"{base}/api/v1/media/storage/{file_id}",
    }


def job_accepted(request: Request, job: Job) -> JSONResponse:
    body = {"file_id": job.id, "status": job.status, "kind": job.kind, **file_urls(request, job.id)}
    return JSONResponse(body, status_code=202)


def job_status(job: Job) -> dict:
    body = {
        "file_id": job.id,
        "kind": job.kind,
        "status": job.status,
        "progress": round(job.progress),
        "name": job.name,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }
    if job.error:
        body["error"] = job.error
    return body
