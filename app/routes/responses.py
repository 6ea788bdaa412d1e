"""Response shapes shared by the routers."""

from fastapi import Request
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel

from app.services.jobs import Job
from app.services.storage import FileStorage


class ErrorBody(BaseModel):
    error: str


ERROR_RESPONSES: dict[int | str, dict] = {
    code: {"model": ErrorBody, "description": description}
    for code, description in (
        (400, "Bad input"),
        (401, "Missing or wrong API key (when API_KEY is set)"),
        (404, "Unknown id"),
        (409, "Not ready, or running and cannot be deleted"),
        (413, "Text or upload too large"),
        (422, "A field is invalid; the message names it"),
        (429, "Busy: retry after the Retry-After header's seconds"),
        (503, "Text to speech is unavailable; the message says why"),
    )
}
MEDIA_CONTENT = {"audio/*": {}, "video/*": {}, "image/*": {}, "application/octet-stream": {}}
JOB_RESPONSES: dict[int | str, dict] = {
    200: {"description": "With wait=true: the finished file", "content": MEDIA_CONTENT},
    202: {"description": "Accepted: poll status_url, download from download_url"},
}


def stored_file(job: Job, storage: FileStorage, headers: dict[str, str] | None = None) -> FileResponse:
    """A ready job's file, downloaded under its `name` when it has one."""
    ext = job.filename.rsplit(".", 1)[-1]
    download_name = f"{job.name}.{ext}" if job.name else job.filename
    return FileResponse(storage.path(job.filename), media_type=job.media_type, filename=download_name, headers=headers)


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
