"""How every job endpoint answers: 202 with the file id, or, with `wait=true`, the finished file.

An identical request (same route, same normalised fields and input files, or the same `Idempotency-Key`)
reuses the job it made before, while it runs and once ready, so a client's retries never redo finished work.
"""

import asyncio
import hashlib
import json
import time

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from app.routes.models import FailedJob
from app.routes.responses import job_accepted, stored_file
from app.services.folders import check_folder
from app.services.job_fields import JobFields
from app.services.jobs import Job, JobStatus
from app.services.webhooks import check_webhook_url
from app.wiring import Services


def dedup_key(
    request: Request, kind: str, params: BaseModel, fields: JobFields, folder: str | None = None
) -> str | None:
    """What makes two requests the same job: the `Idempotency-Key` header, else the route, the normalised
    params (input files by id), the name and the folder; None with dedup=false."""
    if not fields.dedup:
        return None
    key = request.headers.get("idempotency-key")
    identity: dict[str, object] = {"route": request.url.path}
    if key:
        identity["idempotency_key"] = key
    else:
        identity.update(kind=kind, params=params.model_dump(mode="json"), name=fields.name)
        if folder:
            identity["folder"] = folder
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def reuse_since(services: Services) -> float:
    """Jobs created after this may be reused: DEDUP_WINDOW_S, else as long as files are kept."""
    window = services.settings.dedup_window_s
    if window is None and services.settings.file_ttl_hours > 0:
        window = services.settings.file_ttl_hours * 3600
    return time.time() - window if window is not None else 0.0


async def submit_job(request: Request, services: Services, kind: str, params: BaseModel, fields: JobFields) -> Response:
    """Reuse the job of an identical request, or admit (or raise Busy) and create one; answer at once or,
    with wait=true, when it ends."""
    folder = check_folder(fields.folder, "folder")
    webhook_url = await asyncio.to_thread(check_webhook_url, fields.webhook_url, services.settings.allow_private_urls)
    key = dedup_key(request, kind, params, fields, folder)
    wait_s = wait_seconds(services, fields)
    existing = services.jobs.reusable(key, reuse_since(services)) if key else None
    if existing is not None:
        return await answer(request, services, existing, fields, wait_s, reused=True)
    client = request.headers.get("idempotency-key")
    ticket = services.admission.admit(kind, finish_within_s=wait_s, client=client, detached=wait_s is None)
    stored_params = {**params.model_dump(mode="json"), "base_url": str(request.base_url).rstrip("/")}
    job = services.runner.submit(kind, stored_params, ticket, fields.name, webhook_url, key, folder)
    return await answer(request, services, job, fields, wait_s, reused=False)


def wait_seconds(services: Services, fields: JobFields) -> float | None:
    if not fields.wait:
        return None
    limit = services.settings.wait_timeout_s
    return min(limit, fields.wait_timeout_s) if fields.wait_timeout_s else limit


async def answer(
    request: Request, services: Services, job: Job, fields: JobFields, wait_s: float | None, reused: bool
) -> Response:
    """202 with the job; with wait=true the file itself, 422 when the job failed, or, when the wait ends
    first, 504 (or 202 when asked) with the `file_id`, so that the same request again waits for the same job."""
    headers = {"X-File-Id": job.id, "X-Reused": "true" if reused else "false"}
    if wait_s is None:
        return _json(job_accepted(request, job, reused=reused), 202, headers)
    final = await services.runner.wait(job.id, wait_s) or job
    stored = services.files.get(final.output_file_id) if final.output_file_id else None
    if final.status == JobStatus.READY and stored is not None:
        return stored_file(stored, services.files, headers=headers, filename=stored.filename)
    if final.status == JobStatus.FAILED:
        failed = FailedJob(error=final.error or "The job failed.", file_id=final.id, status=JobStatus.FAILED)
        return _json(failed, 422, headers)
    message = (
        f"Job {final.id} (file_id {final.id}) is still {final.status} after waiting {wait_s:g} s; send the same "
        "request again to wait for the same job (it is not started twice), or poll status_url."
    )
    retry_after = max(1, round(services.admission.mean_duration(final.kind)))
    code = int(fields.wait_timeout_status)
    extra = {"Retry-After": str(retry_after)} if code == 504 else {}
    body = job_accepted(request, final, message, reused=reused, error=code == 504)
    return _json(body, code, {**headers, **extra})


def _json(body: BaseModel, status_code: int, headers: dict[str, str]) -> JSONResponse:
    return JSONResponse(body.model_dump(mode="json", exclude_unset=True), status_code=status_code, headers=headers)
