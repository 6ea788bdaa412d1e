"""Stored files: status, info, download, delete."""

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse, JSONResponse

from app.deps import get_runner, get_storage, get_store
from app.errors import DomainError, NotFound
from app.routes.responses import MEDIA_CONTENT, job_status, stored_file
from app.services.jobs import PROCESSING, READY, Job, JobStore
from app.services.runner import JobRunner
from app.services.storage import FileStorage, check_file_id

router = APIRouter(prefix="/api/v1/media/storage", tags=["storage"])


class NotReady(DomainError):
    status_code = 409


def find_job(store: JobStore, file_id: str) -> Job:
    job = store.get(check_file_id(file_id))
    if job is None:
        raise NotFound(f"No file with id '{file_id}'.")
    return job


@router.get("/{file_id}/status")
async def file_status(file_id: str, store: JobStore = Depends(get_store)) -> JSONResponse:
    try:
        return JSONResponse(job_status(find_job(store, file_id)))
    except NotFound as exc:
        return JSONResponse({"file_id": file_id[:64], "status": "not_found", "error": exc.message}, status_code=404)


@router.get("/{file_id}/info")
async def file_info(
    file_id: str, store: JobStore = Depends(get_store), storage: FileStorage = Depends(get_storage)
) -> dict:
    job = find_job(store, file_id)
    body = job_status(job)
    if job.status == READY and job.filename:
        body["size"] = storage.path(job.filename).stat().st_size
        body["media_type"] = job.media_type
    body.update(job.result)
    return body


FILE_RESPONSES: dict[int | str, dict] = {
    200: {"description": "The file", "content": MEDIA_CONTENT},
    206: {"description": "A byte range (Range requests)"},
}


@router.get("/{file_id}", response_class=FileResponse, responses=FILE_RESPONSES)
async def download(
    file_id: str, store: JobStore = Depends(get_store), storage: FileStorage = Depends(get_storage)
) -> FileResponse:
    job = find_job(store, file_id)
    if job.status != READY or not job.filename:
        detail = f": {job.error}" if job.error else ""
        raise NotReady(f"File '{file_id}' is not ready (status: {job.status}{detail}).")
    return stored_file(job, storage)


@router.head("/{file_id}", response_class=FileResponse, responses=FILE_RESPONSES)
async def download_head(
    file_id: str, store: JobStore = Depends(get_store), storage: FileStorage = Depends(get_storage)
) -> FileResponse:
    """Size and type without the body (players and n8n binary nodes ask first)."""
    return await download(file_id, store, storage)


@router.delete("/{file_id}")
async def delete_file(
    file_id: str,
    store: JobStore = Depends(get_store),
    storage: FileStorage = Depends(get_storage),
    runner: JobRunner = Depends(get_runner),
) -> dict:
    job = find_job(store, file_id)
    if job.status == PROCESSING:
        raise NotReady(f"Job '{file_id}' is running and cannot be deleted now; try again when it ends.")
    cancelled = runner.cancel_queued(job.id)
    storage.delete(job.id, job.filename)
    store.delete(job.id)
    return {"file_id": job.id, "deleted": True, "cancelled": cancelled}
