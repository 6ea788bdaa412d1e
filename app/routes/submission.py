"""How every job endpoint answers: 202 with the file id, or, with `wait=true`, the finished file."""

import asyncio

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from app.composition import Services
from app.routes.models import FailedJob
from app.routes.responses import job_accepted, stored_file
from app.services.jobs import JobStatus
from app.services.webhooks import check_webhook_url

WAIT_EXPIRED = "The job is still running; poll status_url."


class JobFields(BaseModel):
    """The fields every job route takes besides its own."""

    name: str | None = None
    webhook_url: str | None = None
    wait: bool = False


async def submit_job(request: Request, services: Services, kind: str, params: BaseModel, fields: JobFields) -> Response:
    """Admit (or raise Busy), create the job, and answer at once or when it ends (WAIT_TIMEOUT_S)."""
    runner = services.runner
    webhook_url = await asyncio.to_thread(check_webhook_url, fields.webhook_url, services.settings.allow_private_urls)
    ticket = services.heavy.admit(kind)
    stored_params = {**params.model_dump(mode="json"), "base_url": str(request.base_url).rstrip("/")}
    job = runner.submit(kind, stored_params, ticket, name=fields.name, webhook_url=webhook_url)
    if not fields.wait:
        return _json(job_accepted(request, job), 202)
    final = await runner.wait(job.id, services.settings.wait_timeout_s)
    if final is not None and final.status == JobStatus.READY and final.output_file_id:
        stored = services.files.get(final.output_file_id)
        if stored is not None:
            return stored_file(stored, services.files, headers={"X-File-Id": final.id})
    if final is not None and final.status == JobStatus.FAILED:
        failed = FailedJob(error=final.error or "The job failed.", file_id=final.id, status=JobStatus.FAILED)
        return _json(failed, 422)
    return _json(job_accepted(request, final or job, WAIT_EXPIRED), 202)


def _json(body: BaseModel, status_code: int) -> JSONResponse:
    return JSONResponse(body.model_dump(mode="json", exclude_unset=True), status_code=status_code)
