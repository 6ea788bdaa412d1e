"""Response shapes shared by the routers: a job's or a file's status, its URLs, a stored file's bytes."""

from typing import Any

from fastapi import Request
from fastapi.responses import FileResponse, Response

from app.routes.bucket_download import BucketFileResponse, BucketFiles
from app.routes.models import AcceptedJob, ErrorBody, FileUrls, JobStatusBody
from app.services.files import Files, StoredFile
from app.services.inputs import Record
from app.services.jobs import Job, JobStatus

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
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
BINARY: dict[str, Any] = {"schema": {"type": "string", "format": "binary"}}
MEDIA_CONTENT: dict[str, Any] = {kind: BINARY for kind in ("audio/*", "video/*", "image/*", "application/octet-stream")}
JOB_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "With wait=true: the finished file", "content": MEDIA_CONTENT},
    202: {"model": AcceptedJob, "description": "Accepted: poll status_url, download from download_url"},
    504: {
        "model": AcceptedJob,
        "description": "With wait=true: the wait ended before the job; the same request again waits for it",
    },
}


def record_status(record: Record) -> JobStatusBody:
    """The status body of a job, or of an upload (a file that is ready from the start)."""
    job = record.job
    if job is not None:
        body = JobStatusBody(
            file_id=job.id,
            kind=job.kind,
            status=job.status,
            progress=round(job.progress),
            name=job.name,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            **({"error": job.error} if job.error else {}),
        )
        return body
    stored = record.file
    assert stored is not None
    at = stored.created_at
    return JobStatusBody(
        file_id=stored.id,
        kind="upload",
        status=JobStatus.READY,
        progress=100,
        name=stored.name,
        created_at=at,
        started_at=at,
        finished_at=at,
    )


def stored_file(
    stored: StoredFile, files: Files, headers: dict[str, str] | None = None, filename: str | None = None
) -> Response:
    """A stored file's bytes, downloaded as `filename`, else under its `name` when it has one; in cluster mode
    from the bucket."""
    name = filename or stored.download_name
    if isinstance(files.storage, BucketFiles):
        return BucketFileResponse(files.storage, stored.filename, stored.media_type, name, headers)
    return FileResponse(files.path(stored), media_type=stored.media_type, filename=name, headers=headers)


def file_urls(request: Request, file_id: str) -> FileUrls:
    base = str(request.base_url).rstrip("/")
    return FileUrls(
        status_url=f"{base}/api/v1/media/storage/{file_id}/status",
        download_url=f"{base}/api/v1/media/storage/{file_id}",
    )


def job_accepted(
    request: Request, job: Job, message: str | None = None, reused: bool = False, error: bool = False
) -> AcceptedJob:
    """The 202 body; `message` only when there is something to say (it is left out otherwise), repeated as
    `error` when the answer is an error (a 504 after a wait)."""
    urls = file_urls(request, job.id).model_dump()
    extra = {"message": message} if message else {}
    if message and error:
        extra["error"] = message
    return AcceptedJob(file_id=job.id, status=job.status, kind=job.kind, reused=reused, **urls, **extra)
