"""Stored files and jobs by id: status, info, download, delete."""

from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse, Response

from app.deps import FilesDep, JobsDep, RunnerDep
from app.errors import NotFound
from app.routes.models import DeletedFile, FileInfo, JobStatusBody, NotFoundStatus
from app.routes.responses import MEDIA_CONTENT, record_status, stored_file
from app.services.inputs import NotReady, find_record
from app.services.jobs import JobStatus

router = APIRouter(prefix="/api/v1/media/storage", tags=["storage"])

STATUS_RESPONSES: dict[int | str, dict[str, Any]] = {404: {"model": NotFoundStatus, "description": "Unknown id"}}
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The file", "content": MEDIA_CONTENT},
    206: {"description": "A byte range (Range requests)"},
}


@router.get(
    "/{file_id}/status", response_model=JobStatusBody, response_model_exclude_unset=True, responses=STATUS_RESPONSES
)
async def file_status(file_id: str, jobs: JobsDep, files: FilesDep) -> JobStatusBody | JSONResponse:
    try:
        return record_status(find_record(jobs, files, file_id))
    except NotFound as exc:
        body = NotFoundStatus(file_id=file_id[:64], status="not_found", error=exc.message)
        return JSONResponse(body.model_dump(), status_code=404)


@router.get("/{file_id}/info", response_model=FileInfo, response_model_exclude_unset=True)
async def file_info(file_id: str, jobs: JobsDep, files: FilesDep) -> FileInfo:
    record = find_record(jobs, files, file_id)
    body = record_status(record).model_dump(exclude_unset=True)
    stored = record.file
    if stored is not None:
        body.update(size=stored.size, media_type=stored.media_type)
        body.update(stored.facts)
    return FileInfo(**body)


@router.get("/{file_id}", response_class=FileResponse, responses=FILE_RESPONSES)
async def download(file_id: str, jobs: JobsDep, files: FilesDep) -> Response:
    record = find_record(jobs, files, file_id)
    if record.file is None:
        detail = f": {record.error}" if record.error else ""
        raise NotReady(f"File '{file_id}' is not ready (status: {record.status}{detail}).")
    return stored_file(record.file, files)


@router.head("/{file_id}", response_class=FileResponse, responses=FILE_RESPONSES)
async def download_head(file_id: str, jobs: JobsDep, files: FilesDep) -> Response:
    """Size and type without the body (players and n8n binary nodes ask first)."""
    return await download(file_id, jobs, files)


@router.delete("/{file_id}", response_model=DeletedFile)
async def delete_file(file_id: str, jobs: JobsDep, files: FilesDep, runner: RunnerDep) -> DeletedFile:
    record = find_record(jobs, files, file_id)
    if record.status == JobStatus.PROCESSING:
        raise NotReady(f"Job '{file_id}' is running and cannot be deleted now; try again when it ends.")
    cancelled = runner.cancel_queued(record.id)
    files.delete(record.id)
    jobs.delete(record.id)
    return DeletedFile(file_id=record.id, deleted=True, cancelled=cancelled)
